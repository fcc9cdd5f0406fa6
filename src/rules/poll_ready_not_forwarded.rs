//! `poll-ready-not-forwarded`: a tower middleware whose `poll_ready` is always ready while its
//! `call` calls an inner service that can be pending.
use std::collections::{HashMap, HashSet};

use syn::{Expr, ImplItem, Type};

use super::syntax::{binding_init, for_each_expr_in_block, ident_of, peel, self_field, type_args};
use super::{api_map, name_list, ApiExtensions};
use crate::catalogue::RuleDoc;
use crate::engine::{Context, RawFinding, Rule};

pub const ID: &str = "poll-ready-not-forwarded";

/// How deep type aliases and wrapper arguments are followed.
const TYPE_DEPTH: usize = 8;

pub struct PollReadyNotForwarded {
    traits: HashSet<String>,
    /// External services whose `poll_ready` can be pending (they reserve capacity, or erase a
    /// service that may).
    pending: HashSet<String>,
    /// External services that are ready whenever their type arguments are (none: always ready).
    ready_with_args: HashSet<String>,
    /// Calls that drive a service's readiness.
    readiness: HashSet<String>,
}

impl PollReadyNotForwarded {
    pub fn new(doc: &RuleDoc, _ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        PollReadyNotForwarded {
            traits: keys("service-traits"),
            pending: keys("pending-services"),
            ready_with_args: keys("ready-services"),
            readiness: name_list(doc, "readiness-drivers").into_iter().collect(),
        }
    }
}

/// Whether an inner service's `poll_ready` can be pending, as far as the file shows.
enum Readiness {
    /// It can: the reason, for the message.
    MayWait(String),
    /// It is opaque (a type parameter, `impl Service`, `dyn Service`): it can be any service, so
    /// it may wait, but nothing in the file says that the one used does. The reason, for the message.
    AnyService(String),
    /// It never is.
    Ready,
    /// Nothing visible says either way (a crate type defined in another file, an unknown library type).
    Unknown,
}

/// What a `poll_ready` body does.
#[derive(PartialEq)]
enum PollReady {
    /// Never pending on its own and polls nothing.
    AlwaysReady,
    /// Polls another service's readiness (and is otherwise ready).
    Forwards,
    /// Can return `Pending` itself (or polls something else: a semaphore, a channel).
    MayWait,
}

fn method<'a>(item: &'a syn::ItemImpl, name: &str) -> Option<&'a syn::ImplItemFn> {
    item.items.iter().find_map(|i| match i {
        ImplItem::Fn(f) if f.sig.ident == name => Some(f),
        _ => None,
    })
}

fn last_ident_is(path: &syn::Path, pred: impl Fn(&str) -> bool) -> bool {
    path.segments
        .last()
        .is_some_and(|s| pred(&s.ident.to_string()))
}

/// The field an expression takes the inner service from: `self.inner`, `self.inner.clone()`,
/// `std::mem::replace(&mut self.inner, ..)`.
fn inner_field(e: &Expr) -> Option<String> {
    match e {
        Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => self_field(&m.receiver),
        Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if last_ident_is(&p.path, |s| s == "replace")) => {
            c.args.first().and_then(|a| self_field(peel(a)))
        }
        _ => self_field(e),
    }
}

/// `Poll::Ready(Ok(()))`.
fn is_ready_ok(e: &Expr) -> bool {
    let Expr::Call(ready) = e else { return false };
    let is_ready =
        matches!(&*ready.func, Expr::Path(p) if last_ident_is(&p.path, |s| s == "Ready"));
    let Some(Expr::Call(ok)) = ready.args.first() else {
        return false;
    };
    let is_ok = matches!(&*ok.func, Expr::Path(p) if last_ident_is(&p.path, |s| s == "Ok"));
    is_ready && is_ok && matches!(ok.args.first(), Some(Expr::Tuple(t)) if t.elems.is_empty())
}

/// A `Service` impl's `poll_ready`, for call-without-poll-ready (one problem, one finding).
pub(super) fn poll_ready_of(item: &syn::ItemImpl) -> Option<&syn::ImplItemFn> {
    method(item, "poll_ready")
}

/// Whether a `poll_ready` body polls another service's readiness.
pub(super) fn forwards_readiness(f: &syn::ImplItemFn) -> bool {
    poll_ready_calls(f).0
}

/// Classifies a `poll_ready` body: forwarding is any `poll_ready`/`ready` call; any other
/// `poll_*` call or a `Pending` means it can wait on its own.
fn poll_ready_kind(f: &syn::ImplItemFn) -> PollReady {
    let (forwards, waits) = poll_ready_calls(f);
    if waits {
        PollReady::MayWait
    } else if forwards {
        PollReady::Forwards
    } else {
        PollReady::AlwaysReady
    }
}

/// Whether a `poll_ready` body polls another service's readiness, and whether it can wait on its own.
fn poll_ready_calls(f: &syn::ImplItemFn) -> (bool, bool) {
    let mut forwards = false;
    let mut waits = false;
    for_each_expr_in_block(&f.block, false, &mut |e| match e {
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if name.starts_with("poll_ready") || name == "ready" {
                forwards = true;
            } else if name.starts_with("poll_") {
                waits = true;
            }
        }
        Expr::Call(c) => {
            if let Expr::Path(p) = &*c.func {
                if last_ident_is(&p.path, |s| s.starts_with("poll_ready")) {
                    forwards = true;
                } else if last_ident_is(&p.path, |s| s.starts_with("poll_")) {
                    waits = true;
                }
            }
        }
        Expr::Path(p) if last_ident_is(&p.path, |s| s == "Pending") => waits = true,
        _ => {}
    });
    (forwards, waits)
}

fn type_last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Every item of the file, nested modules included.
fn all_items(items: &[syn::Item]) -> Vec<&syn::Item> {
    let mut out = Vec::new();
    for item in items {
        out.push(item);
        if let syn::Item::Mod(m) = item {
            if let Some((_, inner)) = &m.content {
                out.extend(all_items(inner));
            }
        }
    }
    out
}

/// The file's type aliases and struct definitions, by name.
struct FileTypes<'ast> {
    aliases: HashMap<String, &'ast Type>,
    structs: HashMap<String, &'ast syn::ItemStruct>,
    /// Self type name → the `poll_ready` of each trait impl that has one.
    poll_readies: HashMap<String, Vec<&'ast syn::ImplItemFn>>,
}

impl<'ast> FileTypes<'ast> {
    fn of(file: &'ast syn::File) -> Self {
        let mut types = FileTypes {
            aliases: HashMap::new(),
            structs: HashMap::new(),
            poll_readies: HashMap::new(),
        };
        for item in all_items(&file.items) {
            match item {
                syn::Item::Type(t) => {
                    types.aliases.insert(t.ident.to_string(), &*t.ty);
                }
                syn::Item::Struct(s) => {
                    types.structs.insert(s.ident.to_string(), s);
                }
                syn::Item::Impl(i) if i.trait_.is_some() => {
                    if let (Some(name), Some(f)) =
                        (type_last_ident(&i.self_ty), method(i, "poll_ready"))
                    {
                        types.poll_readies.entry(name).or_default().push(f);
                    }
                }
                _ => {}
            }
        }
        types
    }
}

impl PollReadyNotForwarded {
    fn is_service_bound(&self, cx: &Context<'_>, bounds: &[&syn::TypeParamBound]) -> bool {
        bounds.iter().any(|b| matches!(b, syn::TypeParamBound::Trait(t) if cx.resolve(&t.path).is_some_and(|p| self.traits.contains(&p))))
    }

    /// Whether the inner service in `self.<field>` can be pending.
    fn field_readiness(
        &self,
        cx: &Context<'_>,
        types: &FileTypes<'_>,
        item: &syn::ItemImpl,
        field: &str,
    ) -> Readiness {
        let Some(name) = type_last_ident(&item.self_ty) else {
            return Readiness::Unknown;
        };
        let Some(def) = types.structs.get(&name) else {
            return Readiness::Unknown;
        };
        let Some(ty) = def
            .fields
            .iter()
            .find(|f| f.ident.as_ref().is_some_and(|i| i == field))
            .map(|f| &f.ty)
        else {
            return Readiness::Unknown;
        };
        // The struct's type parameters, as this impl instantiates them (`impl .. for Wrap<S>`).
        let impl_generics: HashSet<String> = item
            .generics
            .type_params()
            .map(|p| p.ident.to_string())
            .collect();
        let self_args: Vec<&Type> = type_args(&item.self_ty).collect();
        let params: HashMap<String, &Type> = def
            .generics
            .type_params()
            .zip(self_args)
            .map(|(p, arg)| (p.ident.to_string(), arg))
            .collect();
        if let Type::Path(p) = ty {
            if let Some(param) = p.path.get_ident().map(|i| i.to_string()) {
                if let Some(arg) = params.get(&param) {
                    return self.type_readiness(cx, types, &impl_generics, arg, 0);
                }
            }
        }
        self.type_readiness(cx, types, &impl_generics, ty, 0)
    }

    fn type_readiness(
        &self,
        cx: &Context<'_>,
        types: &FileTypes<'_>,
        generics: &HashSet<String>,
        ty: &Type,
        depth: usize,
    ) -> Readiness {
        if depth > TYPE_DEPTH {
            return Readiness::Unknown;
        }
        let recurse = |t: &Type| self.type_readiness(cx, types, generics, t, depth + 1);
        match ty {
            Type::Reference(r) => recurse(&r.elem),
            Type::Paren(p) => recurse(&p.elem),
            Type::Group(g) => recurse(&g.elem),
            Type::ImplTrait(t)
                if self.is_service_bound(cx, &t.bounds.iter().collect::<Vec<_>>()) =>
            {
                Readiness::AnyService("it can be any service".to_owned())
            }
            Type::TraitObject(t)
                if self.is_service_bound(cx, &t.bounds.iter().collect::<Vec<_>>()) =>
            {
                Readiness::AnyService("it can be any service".to_owned())
            }
            Type::Path(p) if p.qself.is_none() => {
                if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                    if generics.contains(&name) {
                        return Readiness::AnyService(format!(
                            "it is `{name}`, which can be any service"
                        ));
                    }
                    if let Some(aliased) = types.aliases.get(&name) {
                        return recurse(aliased);
                    }
                }
                let last = p
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                match cx.resolve(&p.path) {
                    Some(path) if path == "std::boxed::Box" => {
                        type_args(ty).next().map_or(Readiness::Unknown, recurse)
                    }
                    Some(path) if self.pending.contains(&path) => {
                        Readiness::MayWait(format!("a `{last}` waits for capacity in `poll_ready`"))
                    }
                    Some(path) if self.ready_with_args.contains(&path) => {
                        all_ready(type_args(ty).map(recurse))
                    }
                    Some(_) => Readiness::Unknown,
                    None => match types.poll_readies.get(&last) {
                        Some(fns)
                            if fns.iter().any(|f| poll_ready_kind(f) == PollReady::MayWait) =>
                        {
                            Readiness::MayWait(format!(
                                "`{last}`'s own `poll_ready` can be pending"
                            ))
                        }
                        Some(fns)
                            if fns
                                .iter()
                                .any(|f| poll_ready_kind(f) == PollReady::Forwards) =>
                        {
                            // As ready as the services it wraps (its type arguments).
                            all_ready(type_args(ty).map(recurse))
                        }
                        Some(_) => Readiness::Ready,
                        None => Readiness::Unknown,
                    },
                }
            }
            _ => Readiness::Unknown,
        }
    }

    /// Whether `call`'s body drives readiness on the local `name` (`name.ready().await`,
    /// `ServiceExt::ready(&mut name)`, `name.poll_ready(cx)`).
    fn readies_local(&self, body: &syn::Block, name: &str) -> bool {
        let mut found = false;
        for_each_expr_in_block(body, false, &mut |e| match e {
            Expr::MethodCall(m) if self.readiness.contains(&m.method.to_string()) => {
                found |= ident_of(peel(&m.receiver)).as_deref() == Some(name);
            }
            Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if last_ident_is(&p.path, |s| self.readiness.contains(s))) =>
            {
                found |= c.args.first().and_then(|a| ident_of(peel(a))).as_deref() == Some(name);
            }
            _ => {}
        });
        found
    }
}

/// Ready when every part is; pending when any part may be (known before opaque); otherwise unknown.
fn all_ready(parts: impl Iterator<Item = Readiness>) -> Readiness {
    let mut unknown = false;
    let mut any = None;
    for part in parts {
        match part {
            Readiness::MayWait(why) => return Readiness::MayWait(why),
            Readiness::AnyService(why) => any = any.or(Some(why)),
            Readiness::Unknown => unknown = true,
            Readiness::Ready => {}
        }
    }
    if let Some(why) = any {
        Readiness::AnyService(why)
    } else if unknown {
        Readiness::Unknown
    } else {
        Readiness::Ready
    }
}

impl Rule for PollReadyNotForwarded {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_impl<'ast>(&self, cx: &mut Context<'ast>, item: &'ast syn::ItemImpl) {
        let Some((trait_path, _)) = &item.trait_ else {
            return;
        };
        if !cx
            .resolve(trait_path)
            .is_some_and(|p| self.traits.contains(&p))
        {
            return;
        }
        let (Some(poll_ready), Some(call)) = (method(item, "poll_ready"), method(item, "call"))
        else {
            return;
        };
        // The inner services: fields whose value `call` calls: `self.inner.call(..)`,
        // `self.inner.clone().call(..)`, or a binding made by cloning or `mem::replace`-ing one
        // that `call` does not ready itself (`svc.ready().await?` honours readiness on the clone).
        let mut called = HashSet::new();
        // Where each inner service is first called, for the label.
        let mut call_sites: HashMap<String, std::ops::Range<usize>> = HashMap::new();
        for_each_expr_in_block(&call.block, false, &mut |e| {
            let Expr::MethodCall(m) = e else { return };
            if m.method != "call" {
                return;
            }
            let receiver = peel(&m.receiver);
            let field = if let Some(f) = inner_field(receiver) {
                Some(f)
            } else if let Some(local) = ident_of(receiver) {
                binding_init(&call.block, &local)
                    .and_then(|i| inner_field(peel(i)))
                    .filter(|_| !self.readies_local(&call.block, &local))
            } else {
                None
            };
            if let Some(f) = field {
                call_sites
                    .entry(f.clone())
                    .or_insert_with(|| cx.method_call_range(m));
                called.insert(f);
            }
        });
        if called.is_empty() {
            return; // a leaf service, or one that drives a fresh inner service per request
        }
        if poll_ready_calls(poll_ready).0 {
            return; // forwards (after any readiness of its own)
        }
        let mut ready = Vec::new();
        for_each_expr_in_block(&poll_ready.block, false, &mut |e| {
            if is_ready_ok(e) {
                ready.push(e)
            }
        });
        let Some(first_ready) = ready.first() else {
            return;
        };
        // Only an inner service that can be pending loses anything by not being polled.
        let types = FileTypes::of(cx.file);
        // (field, why it may wait, whether that is known rather than opaque)
        let mut inner: Vec<(String, String, bool)> = called
            .into_iter()
            .filter_map(|f| match self.field_readiness(cx, &types, item, &f) {
                Readiness::MayWait(why) => Some((f, why, true)),
                Readiness::AnyService(why) => Some((f, why, false)),
                Readiness::Ready | Readiness::Unknown => None,
            })
            .collect();
        if inner.is_empty() {
            return;
        }
        inner.sort();
        let known = inner.iter().any(|(_, _, known)| *known);
        let labels = inner
            .iter()
            .filter_map(|(f, _, _)| call_sites.get(f))
            .map(|r| {
                (
                    r.clone(),
                    "the inner service is called here without having been polled ready".to_owned(),
                )
            })
            .collect();
        let (fields, why): (Vec<String>, Vec<String>) = inner
            .into_iter()
            .map(|(f, why, _)| (format!("`self.{f}`"), why))
            .unzip();
        let range = cx.range(*first_ready);
        let finding = RawFinding {
            rule: ID,
            range,
            message: format!("`poll_ready` reports ready without polling {}, which `call` uses and whose readiness can be pending ({}): callers never see the inner service's backpressure, and it queues without limit or panics", fields.join(", "), why.join("; ")),
            help: "forward readiness: `self.inner.poll_ready(cx)` (after any readiness of this middleware's own)".to_owned(),
            labels,
            fix: None,
        };
        if known {
            cx.report(finding);
        } else {
            // The contract is broken either way, but backpressure is lost only when the service
            // plugged in can be pending, which this file does not show.
            cx.report_medium(finding, "the inner service's type is open (a type parameter, `impl Service` or `dyn Service`), so backpressure is lost only if the service filling it can be pending, as tower's `Buffer`, `ConcurrencyLimit` and `RateLimit` can; this file does not show which one is used");
        }
    }
}
