//! `client-without-timeout`: HTTP and gRPC clients built with no timeout.
use std::collections::HashSet;

use syn::Expr;

use super::syntax::{
    builder_config, for_each_expr, for_each_expr_in_block, ident_of, is_none, let_binding_of,
    written,
};
use super::{api_map, name_list, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::summary::{Condition, FactKind};
use crate::engine::{Applicability, Context, RawFinding, RawFix, Rule};

pub const ID: &str = "client-without-timeout";

pub struct ClientWithoutTimeout {
    no_timeout_ctors: HashSet<String>,
    builders: HashSet<String>,
    blocking_builders: HashSet<String>,
    read_timeout_builders: HashSet<String>,
    read_timeouts: Vec<String>,
    default_agents: HashSet<String>,
    total_timeouts: Vec<String>,
    unwrapped_clients: HashSet<String>,
    request_methods: Vec<String>,
    wrappers: HashSet<String>,
    texts: super::EntryTexts,
    /// The timeout the fixes write, in seconds (the `timeout-seconds` option).
    timeout_seconds: u128,
}

impl ClientWithoutTimeout {
    pub fn new(doc: &RuleDoc, options: &RuleOptions, ext: &ApiExtensions) -> Self {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        let mut wrappers = keys("timeout-wrappers");
        wrappers.extend(
            ext.timeout_wrappers
                .iter()
                .map(|p| crate::engine::resolve::canonical_str(p)),
        );
        ClientWithoutTimeout {
            no_timeout_ctors: keys("no-timeout-constructors"),
            builders: keys("builders"),
            blocking_builders: keys("blocking-builders"),
            read_timeout_builders: keys("read-timeout-builders"),
            read_timeouts: name_list(doc, "read-timeouts"),
            default_agents: keys("default-agents"),
            total_timeouts: name_list(doc, "total-timeouts"),
            unwrapped_clients: keys("unwrapped-clients"),
            request_methods: name_list(doc, "request-methods"),
            wrappers,
            texts: super::EntryTexts::of(doc),
            timeout_seconds: options.int(doc, "timeout-seconds"),
        }
    }

    /// `.timeout(Duration::from_secs(N))` as the fix at the current position writes it, with
    /// the import that spelling needs.
    fn timeout_call(&self, cx: &Context<'_>, fix: RawFix) -> (String, RawFix) {
        let (ty, import) = cx.spell_type("std::time::Duration");
        let call = format!(".timeout({ty}::from_secs({}))", self.timeout_seconds);
        (
            call,
            match import {
                Some(path) => fix.import(path),
                None => fix,
            },
        )
    }

    /// `reqwest::Client::new()` (or `::default()`) → `Client::builder().timeout(D).build().expect(..)`:
    /// the same type, and `Client::new` itself panics where `build()` fails. Unsafe: requests now
    /// fail after D.
    fn builder_fix(&self, cx: &Context<'_>, expr: &Expr) -> Option<RawFix> {
        let Expr::Call(call) = expr else { return None };
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let last = func.path.segments.last()?;
        if !call.args.is_empty() || !last.arguments.is_none() {
            return None;
        }
        let fix = RawFix::new(
            Applicability::Unsafe,
            format!("build the client with a {} s timeout: a request that takes longer now fails with a timeout error", self.timeout_seconds),
        );
        let (timeout, fix) = self.timeout_call(cx, fix);
        let start = last.ident.span().byte_range().start;
        let end = call.paren_token.span.close().byte_range().end;
        Some(fix.edit(
            start..end,
            format!("builder(){timeout}.build().expect(\"the HTTP client builds\")"),
        ))
    }

    /// A reqwest builder chain that calls `.build()` with no timeout: `.timeout(D)` before it.
    fn chain_fix(&self, cx: &Context<'_>, ctor: &Expr) -> Option<RawFix> {
        let mut top = ctor;
        for ancestor in cx.ancestors() {
            let Expr::MethodCall(m) = ancestor else {
                return None;
            };
            if !std::ptr::eq(&*m.receiver, top) {
                return None;
            }
            if m.method == "build" && m.args.is_empty() {
                let at = m.dot_token.span.byte_range().start;
                let fix = RawFix::new(
                    Applicability::Unsafe,
                    format!("set a {} s timeout on the client: a request that takes longer now fails with a timeout error", self.timeout_seconds),
                );
                let (timeout, fix) = self.timeout_call(cx, fix);
                return Some(fix.edit(at..at, timeout));
            }
            top = ancestor;
        }
        None
    }

    /// A per-request `.timeout(d)` in the current function covers the requests made there.
    fn function_sets_request_timeout(cx: &Context<'_>) -> bool {
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return false;
        };
        let mut found = false;
        for_each_expr_in_block(body, false, &mut |e| {
            if let Expr::MethodCall(m) = e {
                found |= m.method == "timeout"
                    && m.args.first().is_some_and(|a| !is_none(a))
                    && is_request_chain(&m.receiver);
            }
        });
        found
    }

    /// `greeter_client::GreeterClient::connect(dst)`: tonic-build's generated connect, which runs
    /// `Endpoint::new(dst)?.connect()` with no timeout.
    fn is_generated_tonic_connect(file: &syn::File, e: &Expr) -> bool {
        let Expr::Call(c) = e else { return false };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        let mut segs: Vec<String> = crate::rules::syntax::segment_names(&p.path);
        // `GreeterClient::connect` with `use ..::greeter_client::GreeterClient;`: take the module from the import.
        if segs.len() == 2 {
            if let Some(module) = import_parent(&file.items, &segs[0]) {
                segs.insert(0, module);
            }
        }
        match segs.as_slice() {
            [.., module, ty, method] => {
                method == "connect"
                    && ty.ends_with("Client")
                    && module.ends_with("_client")
                    && module.replace('_', "") == ty.to_lowercase()
            }
            _ => false,
        }
    }

    /// hyper's clients have no timeout option: requests made on the binding in this function must
    /// sit inside a timeout wrapper. Returns the request that does not, if any.
    fn unwrapped_request<'ast>(&self, cx: &Context<'ast>, chain: &'ast Expr) -> Option<&'ast Expr> {
        let body = cx.current_fn()?.body;
        let local = let_binding_of(body, chain)?;
        let syn::Pat::Ident(name) = &local.pat else {
            return None;
        };
        let name = name.ident.to_string();
        let mut requests = Vec::new();
        let mut wrapped = Vec::new();
        for_each_expr_in_block(body, false, &mut |e| match e {
            Expr::MethodCall(m)
                if self.request_methods.iter().any(|r| m.method == r)
                    && ident_of(&m.receiver).as_deref() == Some(name.as_str()) =>
            {
                requests.push(e)
            }
            Expr::Call(c) if cx.callee(e).is_some_and(|p| self.wrappers.contains(&p)) => {
                for arg in &c.args {
                    for_each_expr(arg, false, &mut |x| wrapped.push(x as *const Expr));
                }
            }
            _ => {}
        });
        requests
            .into_iter()
            .find(|r| !wrapped.contains(&(*r as *const Expr)))
    }
}

impl ClientWithoutTimeout {
    /// `OnceLock::get_or_init(Client::new)`, `opt.unwrap_or_else(Client::new)`: a constructor with
    /// no timeout passed as a function makes the same client when it is called.
    fn check_uncalled<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr, p: &syn::ExprPath) {
        if p.qself.is_some() || p.path.segments.len() < 2 {
            return;
        }
        // Only an argument: the callee of a call is judged at the call.
        let is_argument = match cx.ancestors().next() {
            Some(Expr::Call(c)) => c.args.iter().any(|a| std::ptr::eq(a, expr)),
            Some(Expr::MethodCall(m)) => m.args.iter().any(|a| std::ptr::eq(a, expr)),
            _ => false,
        };
        if !is_argument {
            return;
        }
        let Some(path) = cx.resolve(&p.path) else {
            return;
        };
        let makes_client = if self.no_timeout_ctors.contains(&path) {
            DefaultClient::Here
        } else {
            self.default_of_a_client(cx, &path, expr)
        };
        if makes_client == DefaultClient::No || Self::function_sets_request_timeout(cx) {
            return;
        }
        let what = written(expr);
        let finding = RawFinding {
            rule: ID,
            range: cx.range(expr),
            message: format!("`{what}` is passed as the function that makes the client: it builds a client with no timeout, so a hung upstream holds each request's connection, buffers and task forever"),
            help: TOTAL_HELP.to_owned(),
            labels: Vec::new(),
            fix: None,
        };
        match makes_client {
            // The struct is declared in another file: its field's type there decides.
            DefaultClient::IfFieldHolds { owner, field } => cx.report_candidate(
                finding,
                Condition::FieldHoldsDefaultClient { owner, field },
                "the field is declared here with a client type whose `default()` sets no timeout",
            ),
            _ => cx.report(finding),
        }
    }

    /// A field of the file's structs whose type holds a client with a timeout-less `default()`:
    /// the files that fill it with `Default::default` are judged by it in the join.
    fn record_client_fields(&self, cx: &mut Context<'_>, item: &syn::ItemStruct) {
        let syn::Fields::Named(fields) = &item.fields else {
            return;
        };
        let owner = item.ident.to_string();
        for f in &fields.named {
            let Some(name) = &f.ident else { continue };
            if self.holds_default_client(cx, &f.ty, 0) {
                let range = cx.range(&f.ty);
                cx.record_fact_for(
                    format!("<{owner}>"),
                    FactKind::FieldHoldsDefaultClient {
                        owner: owner.clone(),
                        field: name.to_string(),
                    },
                    range,
                );
            }
        }
    }
}

/// Whether `Default::default` passed uncalled makes a client with no timeout.
#[derive(Debug, PartialEq, Eq)]
enum DefaultClient {
    /// Visibly: the constructor names the client, or the field's type in this file holds one.
    Here,
    /// If the field `owner.field`, of a struct another file declares, holds one.
    IfFieldHolds {
        owner: String,
        field: String,
    },
    No,
}

impl ClientWithoutTimeout {
    /// `self.client.get_or_insert_with(Default::default)` on a field declared
    /// `Option<reqwest::Client>` (or a `OnceLock`, `OnceCell`, ... of one): `Default::default`
    /// is then the client's `default()`, which sets no timeout.
    /// A field of a struct of another file is left to the join (its declaration decides).
    fn default_of_a_client(&self, cx: &Context<'_>, path: &str, expr: &Expr) -> DefaultClient {
        let verdict = |visible: bool| {
            if visible {
                DefaultClient::Here
            } else {
                DefaultClient::No
            }
        };
        if !matches!(path, "Default::default" | "std::default::Default::default") {
            return DefaultClient::No;
        }
        let Some(Expr::MethodCall(m)) = cx.ancestors().next() else {
            return DefaultClient::No;
        };
        if !m.args.iter().any(|a| std::ptr::eq(a, expr)) {
            return DefaultClient::No;
        }
        let holds_client = |ty: &syn::Type| self.holds_default_client(cx, ty, 0);
        let Some(field) = super::syntax::self_field(&m.receiver) else {
            return verdict(cx.local_is(&m.receiver, holds_client, |_| false));
        };
        if let Some(ty) = cx.self_field_type(&field) {
            return verdict(holds_client(ty));
        }
        // `Self` is declared in another file (a struct of this file declares its fields here).
        let owner = cx.current_fn().and_then(|f| f.self_type.clone());
        match owner {
            Some(owner) if !cx.items.struct_fields.contains_key(&owner) => {
                DefaultClient::IfFieldHolds { owner, field }
            }
            _ => DefaultClient::No,
        }
    }

    /// Whether `ty` is, or wraps in its type arguments, a client whose `default()` is one of the
    /// `no-timeout-constructors`.
    fn holds_default_client(&self, cx: &Context<'_>, ty: &syn::Type, depth: usize) -> bool {
        if depth > 3 {
            return false;
        }
        if let syn::Type::Reference(r) = ty {
            return self.holds_default_client(cx, &r.elem, depth);
        }
        let is_client = cx
            .type_path(ty)
            .is_some_and(|t| self.no_timeout_ctors.contains(&format!("{t}::default")));
        is_client
            || super::syntax::type_args(ty).any(|t| self.holds_default_client(cx, t, depth + 1))
    }
}

/// Whether a receiver chain builds a request: `client.get(url).header(..)`.
fn is_request_chain(mut e: &Expr) -> bool {
    while let Expr::MethodCall(m) = e {
        if matches!(
            m.method.to_string().as_str(),
            "get" | "post" | "put" | "patch" | "delete" | "head" | "request"
        ) {
            return true;
        }
        e = &m.receiver;
    }
    false
}

/// The builder methods that make the client.
const BUILDS: &[&str] = &["build", "connect", "connect_lazy"];

const TOTAL_HELP: &str = "set `.timeout(Duration::from_secs(..))` on the client (for streaming responses, `.connect_timeout(..)` plus `.read_timeout(..)`), or `.timeout(..)` on each request";

/// The module an item named `name` is imported from: `use a::greeter_client::GreeterClient;` →
/// `greeter_client` (searching every `use` of the file, nested modules included).
pub(super) fn import_parent(items: &[syn::Item], name: &str) -> Option<String> {
    fn walk(tree: &syn::UseTree, parent: Option<&syn::Ident>, name: &str) -> Option<String> {
        match tree {
            syn::UseTree::Path(p) => walk(&p.tree, Some(&p.ident), name),
            syn::UseTree::Name(n) if n.ident == name => parent.map(|p| p.to_string()),
            syn::UseTree::Rename(r) if r.rename == name => parent.map(|p| p.to_string()),
            syn::UseTree::Group(g) => g.items.iter().find_map(|t| walk(t, parent, name)),
            _ => None,
        }
    }
    items.iter().find_map(|item| match item {
        syn::Item::Use(u) => walk(&u.tree, None, name),
        syn::Item::Mod(m) => m
            .content
            .as_ref()
            .and_then(|(_, items)| import_parent(items, name)),
        _ => None,
    })
}

impl ClientWithoutTimeout {
    fn builds(methods: &[(String, Option<&Expr>)]) -> bool {
        methods.iter().any(|(m, _)| BUILDS.contains(&m.as_str()))
    }

    /// `http::client().build()`: a client built from a builder a function of the package returns.
    /// It stands when that function's builder has no timeout (the join decides) and none is set
    /// here: reported where the client is built, not at the helper's `Client::builder()`.
    fn check_built_from_helper<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        // Cheap test first: a call passed as an argument is not where a client is built.
        match cx.ancestors().next() {
            Some(Expr::Call(_) | Expr::Binary(_) | Expr::Macro(_)) => return,
            Some(Expr::MethodCall(m)) if !std::ptr::eq(&*m.receiver, expr) => return,
            _ => {}
        }
        // Built in the chain (`helper().build()`), or later through a `let` in a function that
        // builds something: otherwise nothing is built here (and the body need not be searched).
        let mut top = expr;
        let mut builds_in_chain = false;
        for a in cx.ancestors() {
            match a {
                Expr::MethodCall(m) if std::ptr::eq(&*m.receiver, top) => {
                    builds_in_chain |= BUILDS.iter().any(|b| m.method == b);
                }
                Expr::Try(_) | Expr::Await(_) | Expr::Paren(_) => {}
                _ => break,
            }
            top = a;
        }
        if !builds_in_chain {
            let Some(body) = cx.current_fn().map(|f| f.body) else {
                return;
            };
            let key = body as *const syn::Block as usize;
            let builds = {
                let seen = cx.cached(ID, |_| {
                    std::cell::RefCell::new(std::collections::HashMap::<usize, bool>::new())
                });
                let known = seen.borrow().get(&key).copied();
                known.unwrap_or_else(|| {
                    let mut b = false;
                    for_each_expr_in_block(body, false, &mut |e| {
                        if let Expr::MethodCall(m) = e {
                            b |= BUILDS.iter().any(|w| m.method == w);
                        }
                    });
                    seen.borrow_mut().insert(key, b);
                    b
                })
            };
            if !builds {
                return;
            }
        }
        let Some(callee) = cx.local_callee(expr) else {
            return;
        };
        let (chain, methods) = builder_config(cx, expr);
        if !Self::builds(&methods) || Self::function_sets_request_timeout(cx) {
            return;
        }
        let has = |name: &str| {
            methods
                .iter()
                .any(|(m, arg)| m == name && !arg.is_some_and(is_none))
        };
        if self.total_timeouts.iter().any(|t| has(t))
            || (has("connect_timeout") && has("read_timeout"))
        {
            return;
        }
        let what = written(expr);
        cx.report_candidate(
            RawFinding {
                rule: ID,
                range: cx.range(chain),
                message: format!("the client is built here from the builder `{what}()` returns, and neither sets a timeout: a hung upstream holds each request's connection, buffers and task forever"),
                help: TOTAL_HELP.to_owned(),
                labels: Vec::new(),
                fix: None,
            },
            Condition::CalleeReturnsBuilderWithoutTimeout { callee },
            "the builder is made here, with no timeout",
        );
    }
}

/// Whether `chain` is what the current function returns: its tail expression, a `return`'s value,
/// or a `let` binding the tail returns.
fn returned(cx: &Context<'_>, chain: &Expr) -> bool {
    if matches!(cx.ancestors().next(), Some(Expr::Return(_))) {
        return true;
    }
    let Some(body) = cx.current_fn().map(|f| f.body) else {
        return false;
    };
    let Some(syn::Stmt::Expr(tail, None)) = body.stmts.last() else {
        return false;
    };
    let tail = match tail {
        Expr::Call(c)
            if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Ok")) && c.args.len() == 1 =>
        {
            &c.args[0]
        }
        other => other,
    };
    if std::ptr::eq(tail, chain) {
        return true;
    }
    let bound = let_binding_of(body, chain).and_then(|l| match &l.pat {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        _ => None,
    });
    bound.is_some() && ident_of(tail) == bound
}

impl Rule for ClientWithoutTimeout {
    fn id(&self) -> &'static str {
        ID
    }

    fn candidate_context(&self, kind: &FactKind) -> Vec<String> {
        match kind {
            FactKind::ReturnsBuilder { .. } => BUILDS.iter().map(|w| w.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    fn check_struct<'ast>(&self, cx: &mut Context<'ast>, item: &'ast syn::ItemStruct) {
        self.record_client_fields(cx, item);
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        if let Expr::Path(p) = expr {
            self.check_uncalled(cx, expr, p);
            return;
        }
        if !matches!(expr, Expr::Call(_)) {
            return;
        }
        if Self::is_generated_tonic_connect(cx.file, expr) {
            let inside_timeout = cx
                .ancestors()
                .any(|a| cx.callee(a).is_some_and(|p| self.wrappers.contains(&p)));
            if !inside_timeout {
                let what = written(expr);
                cx.report_at(ID, expr,
                    format!("`{what}` is tonic's generated connect: it builds an `Endpoint` with no connect or request timeout, so a hung server holds every call forever"),
                    "build the channel yourself: `Endpoint::from_shared(dst)?.timeout(d).connect_timeout(c).connect().await?` and pass it to `XClient::new(channel)`",
                );
            }
            return;
        }
        let Some(path) = cx.callee(expr) else {
            self.check_built_from_helper(cx, expr);
            return;
        };
        let what = written(expr);
        if self.unwrapped_clients.contains(&path) {
            let (chain, _) = builder_config(cx, expr);
            if let Some(request) = self.unwrapped_request(cx, chain) {
                let message = format!("requests on this `{what}` client have no timeout (hyper has no timeout option): a hung upstream holds the request, its connection and this task forever");
                let range = cx.range(chain);
                let label = (
                    cx.range(request),
                    "this request is not inside `tokio::time::timeout`".to_owned(),
                );
                cx.report(RawFinding { rule: ID, range, message, help: "wrap each request and its body read: `tokio::time::timeout(d, client.request(req)).await`".to_owned(), labels: vec![label], fix: None  });
            }
            return;
        }
        if self.no_timeout_ctors.contains(&path) {
            if Self::function_sets_request_timeout(cx) {
                return;
            }
            let message = if path.ends_with("::get") {
                format!("`{what}` builds a client with no timeout for this request: if the server never answers, the request, its connection and this task wait forever")
            } else {
                format!("`{what}` creates a client with no timeout: reqwest sets none by default, so a hung upstream holds each request's connection, buffers and task forever")
            };
            let fix = (!path.ends_with("::get"))
                .then(|| self.builder_fix(cx, expr))
                .flatten();
            let finding = RawFinding {
                rule: ID,
                range: cx.range(expr),
                message,
                help: TOTAL_HELP.to_owned(),
                labels: Vec::new(),
                fix,
            };
            let one_shot = path.ends_with("::get");
            report_local(cx, finding, expr, one_shot);
            return;
        }
        if self.default_agents.contains(&path) {
            let major = cx.crate_version_major("ureq");
            let message = match major {
                Some(2) => format!("`{what}` uses ureq 2's default agent: it has a connect timeout but no read or write timeout, so a server that stops sending holds the call forever"),
                _ => format!("`{what}` uses ureq's default agent, which (in ureq 3) has no timeout at all: a hung server holds the call forever"),
            };
            let help = if major == Some(2) {
                "build an agent with `ureq::AgentBuilder::new().timeout(Duration::from_secs(..)).build()` and call through it"
            } else {
                "build an agent with `ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(..))).build()` and call through it"
            };
            cx.report_at(ID, expr, message, help);
            return;
        }
        let blocking = self.blocking_builders.contains(&path);
        let ureq2 = self.read_timeout_builders.contains(&path);
        if !blocking && !ureq2 && !self.builders.contains(&path) {
            return;
        }
        let (chain, methods) = builder_config(cx, expr);
        let has = |name: &str| {
            methods
                .iter()
                .any(|(m, arg)| m == name && !arg.is_some_and(is_none))
        };
        let disabled = methods
            .iter()
            .any(|(m, arg)| m == "timeout" && arg.is_some_and(is_none));
        if blocking {
            if disabled {
                cx.report_at(ID, chain, format!("`{what}` with `.timeout(None)` turns off the blocking client's 30 s default: a hung server holds the call forever"), TOTAL_HELP);
            }
            return;
        }
        let bounded = self.total_timeouts.iter().any(|t| has(t))
            || (has("connect_timeout") && has("read_timeout"))
            || (ureq2 && self.read_timeouts.iter().any(|t| has(t)));
        // The client is not built here (returned or passed on unbuilt): the builder's user decides.
        // A function that returns it says so in its summary, for the callers that build it.
        if !Self::builds(&methods) {
            if !ureq2 && !disabled && returned(cx, chain) {
                let range = cx.range(chain);
                cx.record_fact(FactKind::ReturnsBuilder { timeout: bounded }, range);
            }
            return;
        }
        if bounded || Self::function_sets_request_timeout(cx) {
            return;
        }
        let message = if ureq2 {
            format!("this `{what}` chain builds a ureq 2 agent with no read or whole-call timeout (only its default connect timeout): a server that stops sending holds the call forever")
        } else if has("connect_timeout") {
            format!("this `{what}` chain sets only `connect_timeout`: once connected, a server that stops responding holds the request, its buffers and its task forever")
        } else {
            format!("this `{what}` chain builds a client with no timeout: a hung upstream holds each request's connection, buffers and task forever")
        };
        // The generic help is reqwest's; a tonic `Endpoint` has other methods.
        let help = self.texts.help(Some(&path), &what);
        let fix = path
            .starts_with("reqwest::")
            .then(|| self.chain_fix(cx, expr))
            .flatten();
        let finding = RawFinding {
            rule: ID,
            range: cx.range(chain),
            message,
            help: help.unwrap_or_else(|| TOTAL_HELP.to_owned()),
            labels: Vec::new(),
            fix,
        };
        report_local(cx, finding, chain, false);
    }
}

/// The methods that send a request on a client (or start one).
const REQUESTS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "request", "execute",
];

/// Reports a client with no timeout. A client that lives only in the async function that makes
/// it (used there for its requests, never stored, returned, or moved into a closure) waits as
/// long as its callers let the function run: the finding then stands unless every caller bounds
/// the call, through callers of callers, up to handlers of axum routers whose every served
/// router applies a request timeout ([`Condition::SomeCallerUnguarded`]). `one_shot`: the call
/// itself makes the request (`reqwest::get(url)`).
fn report_local<'ast>(
    cx: &mut Context<'ast>,
    finding: RawFinding,
    chain: &'ast Expr,
    one_shot: bool,
) {
    let key = cx
        .current_fn()
        .filter(|f| f.sig.asyncness.is_some() && f.sig.ident != "main")
        .map(|f| f.key.clone());
    let local = key.is_some() && !cx.in_closure() && (one_shot || used_only_here(cx, chain));
    match key.filter(|_| local) {
        Some(function) => cx.report_candidate(
            finding,
            Condition::SomeCallerUnguarded { function },
            "called here with no timeout around the call",
        ),
        None => cx.report(finding),
    }
}

/// Whether the client `chain` builds is used only for requests in the current function: sent
/// on at once (`Client::new().get(url)`), or bound by a `let` to a name that every mention uses
/// for a request, none in a closure or async block.
fn used_only_here<'ast>(cx: &Context<'ast>, chain: &'ast Expr) -> bool {
    let mut top = chain;
    for a in cx.ancestors() {
        match a {
            Expr::MethodCall(m) if std::ptr::eq(&*m.receiver, top) => {
                if REQUESTS.iter().any(|r| m.method == r) {
                    return true;
                }
            }
            Expr::Try(_) | Expr::Await(_) | Expr::Paren(_) => {}
            _ => break,
        }
        top = a;
    }
    let Some(body) = cx.current_fn().map(|f| f.body) else {
        return false;
    };
    let Some(local) = let_binding_of(body, top) else {
        return false;
    };
    let name = match &local.pat {
        syn::Pat::Ident(i) => i.ident.to_string(),
        syn::Pat::Type(t) => match &*t.pat {
            syn::Pat::Ident(i) => i.ident.to_string(),
            _ => return false,
        },
        _ => return false,
    };
    let mut mentions = 0;
    for_each_expr_in_block(body, false, &mut |e| {
        if ident_of(e).as_deref() == Some(name.as_str()) && matches!(e, Expr::Path(_)) {
            mentions += 1;
        }
    });
    let mut requests = 0;
    for_each_expr_in_block(body, true, &mut |e| {
        if let Expr::MethodCall(m) = e {
            if REQUESTS.iter().any(|r| m.method == r)
                && matches!(&*m.receiver, Expr::Path(_))
                && ident_of(&m.receiver).as_deref() == Some(name.as_str())
            {
                requests += 1;
            }
        }
    });
    mentions > 0 && mentions == requests
}
