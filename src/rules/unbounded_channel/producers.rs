//! Who feeds a channel or queue: every use of a sender (or pushing handle) visible in this file,
//! and what paces it.
//!
//! [`handle_uses`] starts at the statements after `let (tx, rx) = ..` and follows the handle
//! through its aliases (`let t = tx.clone()`, `if let Some(s) = &self.tx`), into closures and async
//! blocks, into private fields of structs defined in this file (then through every function of the
//! file that reads that field) and into helper functions of this file (through the parameter it is
//! passed as). Each use comes with the frames between the `let` and it: loops, tasks, callbacks,
//! methods. Where the handle leaves what the file shows (a struct or function of another file, a
//! collection, a return value) the use says so, so that a crate-wide model can pick it up there.
//!
//! [`pace`] then judges each use, and [`Producers::judge`] the handle as a whole: fed per item of an
//! outside source, sent in a loop nothing paces, producers not visible, or visibly bounded.
use std::collections::HashSet;
use std::ops::Range;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Pat, Type};

use crate::catalogue::RuleDoc;

/// Methods on a handle that return the handle again (or a reference, guard or option of it).
const HANDLE_METHODS: &[&str] = &[
    "clone",
    "as_ref",
    "as_mut",
    "as_deref",
    "take",
    "unwrap",
    "expect",
    "lock",
    "read",
    "write",
    "borrow",
    "borrow_mut",
    "deref",
    "get",
    "cloned",
    "upgrade",
    "ok_or",
    "ok_or_else",
    "context",
    "with_context",
    "map_err",
    "blocking_lock",
    "blocking_read",
    "blocking_write",
    "try_lock",
];
/// Methods that neither send nor hand the handle on.
const INERT_METHODS: &[&str] = &[
    "is_closed",
    "closed",
    "same_channel",
    "len",
    "is_empty",
    "capacity",
    "max_capacity",
    "receiver_count",
    "sender_count",
    "strong_count",
    "is_disconnected",
    "is_some",
    "is_none",
    "close",
    "close_channel",
    "disconnect",
    "is_full",
    "is_ok",
    "is_err",
    "hash",
    "eq",
    "fmt",
];
/// Option/Result combinators whose closure runs at most once, with the handle as its argument.
const ONCE_COMBINATORS: &[&str] = &[
    "map",
    "and_then",
    "inspect",
    "is_some_and",
    "is_none_or",
    "map_or",
    "map_or_else",
    "if_some",
];
/// Methods through which a handle is stored into a collection.
const STORING_METHODS: &[&str] = &[
    "insert",
    "push",
    "push_back",
    "push_front",
    "extend",
    "entry",
    "set",
    "replace",
    "put",
];
/// Wrapper types whose `T::new(h)` is the handle again.
const WRAPPER_TYPES: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell",
    "OnceCell",
    "ManuallyDrop",
];
/// Methods a reply receiver is waited on with, after the request is sent.
const REPLY_WAITS: &[&str] = &[
    "recv",
    "recv_timeout",
    "blocking_recv",
    "recv_async",
    "recv_deadline",
    "wait",
    "await",
];
/// How many bodies (the first one, followed helpers and fields) one analysis walks at most.
const MAX_WALKS: usize = 48;

/// The method names and sources the analysis uses, from a rule's catalogue entry.
pub struct Vocabulary {
    /// What the handle is called in messages (`sender`, `queue`), and what its act does to an
    /// item (`sent`, `pushed`).
    pub noun: String,
    pub acted: String,
    /// Calls on the handle that produce (`send`, `push`) or, for a receiver, consume.
    pub acts: Vec<String>,
    /// Loop sources that bring outside items in (`accept`, `recv`, `read_line`).
    pub external: Vec<String>,
    /// Loop sources that count only when awaited (`next`: a sync iterator's is not outside input).
    pub awaited_external: Vec<String>,
    /// Methods that accept a connection: their loops are labelled "per accepted connection".
    pub accepts: Vec<String>,
    /// Awaited methods or called functions that pace a loop by time (`tick`, `sleep`).
    pub timers: Vec<String>,
    /// Functions and methods that run a closure argument once (`spawn`, `spawn_blocking`).
    pub once_callers: Vec<String>,
    /// Calls on the handle that neither produce nor hand it on, besides the built-in ones
    /// (a queue's `pop`).
    pub inert: Vec<String>,
}

impl Vocabulary {
    /// Reads the lists `acts_key`, `producer-sources`, `awaited-producer-sources`,
    /// `accept-sources`, `timer-sources` and `once-callers` of `doc`.
    pub fn from_doc(doc: &RuleDoc, acts_key: &str, noun: &str, acted: &str) -> Vocabulary {
        let list = |k: &str| doc.list(k).to_vec();
        Vocabulary {
            noun: noun.to_owned(),
            acted: acted.to_owned(),
            acts: list(acts_key),
            external: list("producer-sources"),
            awaited_external: list("awaited-producer-sources"),
            accepts: list("accept-sources"),
            timers: list("timer-sources"),
            once_callers: list("once-callers"),
            inert: Vec::new(),
        }
    }
}

/// What lies between the `let` that makes the handle and one of its uses, outermost first.
#[derive(Clone, Copy)]
pub enum Frame<'ast> {
    /// A `for`, `while` or `loop`, with the body of the function it is in.
    Loop(&'ast Expr, &'ast syn::Block),
    /// An async block or a closure run once (by `spawn`): it runs at most once per creation.
    Task,
    /// A closure handed to a caller that may run it any number of times.
    Callback { callee: &'ast Expr },
    /// A function reached through a field: it runs once per call, from callers not followed.
    Method { item: usize },
}

/// One use of the handle.
#[derive(Clone)]
pub enum UseKind {
    /// A producing call (`send`, `push`): `replied` when its payload carries a reply sender whose
    /// receiver is waited on right after; `unit` when the payload is `()`.
    Act {
        method: String,
        replied: bool,
        unit: bool,
    },
    /// Stored in a field: `followed` when the struct is in this file and the field private, so
    /// that every read of the field in this file was walked as well.
    IntoField {
        owner: String,
        field: String,
        followed: bool,
    },
    /// Passed to a function: `followed` when it is a helper of this file; `path` the function's
    /// path as written, when it is called by path (for the caller to resolve).
    PassedTo {
        callee: String,
        followed: bool,
        path: Option<syn::Path>,
    },
    /// Passed to an API that feeds it events of the local machine (a file-system watcher): its
    /// volume follows what happens on the host, not outside traffic.
    LocalSource,
    /// Leaves what this analysis follows: returned, stored in a collection, used by a macro.
    Escapes { how: String },
}

#[derive(Clone)]
pub struct HandleUse<'ast> {
    pub kind: UseKind,
    /// The use itself: the call, the struct field, the argument.
    pub range: Range<usize>,
    pub frames: Vec<Frame<'ast>>,
    /// For a handle passed to a function not followed: the call and the argument's position
    /// (for the crate-wide summary of what that function does with it).
    pub call: Option<(&'ast Expr, usize)>,
}

/// A function of the file: its `impl` type (last segment) if any, name, signature and body.
pub struct FnItem<'ast> {
    pub owner: Option<String>,
    /// Reachable from outside the crate: `pub`, or a trait's method (called through the trait).
    pub public: bool,
    pub name: String,
    pub sig: &'ast syn::Signature,
    pub body: &'ast syn::Block,
}

/// A field of a struct of the file.
pub struct FieldItem<'ast> {
    /// The field's name, or its index for a tuple struct.
    pub name: String,
    pub ty: &'ast Type,
    pub private: bool,
}

/// The functions and structs of a file, for following a handle into them.
#[derive(Default)]
pub struct FileIndex<'ast> {
    pub fns: Vec<FnItem<'ast>>,
    pub structs: Vec<(String, Vec<FieldItem<'ast>>, bool)>,
}

impl<'ast> FileIndex<'ast> {
    pub fn new(file: &'ast syn::File) -> FileIndex<'ast> {
        let mut index = FileIndex::default();
        index.add_items(&file.items);
        index
    }

    fn add_items(&mut self, items: &'ast [syn::Item]) {
        for item in items {
            match item {
                syn::Item::Fn(f) => self.fns.push(FnItem {
                    owner: None,
                    public: matches!(f.vis, syn::Visibility::Public(_)),
                    name: f.sig.ident.to_string(),
                    sig: &f.sig,
                    body: &f.block,
                }),
                syn::Item::Impl(i) => {
                    let owner = match &*i.self_ty {
                        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                        _ => None,
                    };
                    for ii in &i.items {
                        if let syn::ImplItem::Fn(f) = ii {
                            self.fns.push(FnItem {
                                owner: owner.clone(),
                                public: i.trait_.is_some()
                                    || matches!(f.vis, syn::Visibility::Public(_)),
                                name: f.sig.ident.to_string(),
                                sig: &f.sig,
                                body: &f.block,
                            });
                        }
                    }
                }
                syn::Item::Struct(s) => {
                    let fields = s
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| FieldItem {
                            name: f.ident.as_ref().map_or(i.to_string(), |n| n.to_string()),
                            ty: &f.ty,
                            private: matches!(f.vis, syn::Visibility::Inherited),
                        })
                        .collect();
                    let tuple = matches!(s.fields, syn::Fields::Unnamed(_));
                    self.structs.push((s.ident.to_string(), fields, tuple));
                }
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        self.add_items(items);
                    }
                }
                _ => {}
            }
        }
    }

    fn field(&self, owner: &str, field: &str) -> Option<&FieldItem<'ast>> {
        self.structs
            .iter()
            .find(|(name, _, _)| name == owner)?
            .1
            .iter()
            .find(|f| f.name == field)
    }

    fn is_tuple_struct(&self, name: &str) -> bool {
        self.structs.iter().any(|(n, _, tuple)| *tuple && n == name)
    }

    fn fns_named(&self, owner: Option<&str>, name: &str) -> Vec<usize> {
        (0..self.fns.len())
            .filter(|&i| self.fns[i].name == name && self.fns[i].owner.as_deref() == owner)
            .collect()
    }

    /// The signature of the function whose body is `body`.
    pub fn sig_of(&self, body: &syn::Block) -> Option<&'ast syn::Signature> {
        self.fns
            .iter()
            .find(|f| std::ptr::eq(f.body, body))
            .map(|f| f.sig)
    }

    /// `Type::name` (or `name`, a free function) as written in a message.
    pub fn fn_label(&self, item: usize) -> String {
        let f = &self.fns[item];
        match &f.owner {
            Some(o) => format!("{o}::{}", f.name),
            None => f.name.clone(),
        }
    }
}

/// Where the analysis starts, in the function that makes the handle.
pub enum Start<'ast> {
    /// The statements after the handle's `let`, which binds it to `names`.
    Let {
        names: Vec<String>,
        stmts: &'ast [syn::Stmt],
        /// The enclosing function's body (for reply receivers waited on after a send).
        body: &'ast syn::Block,
        /// The `Self` type of the enclosing function, if in an `impl`.
        self_type: Option<String>,
    },
    /// The handle made straight into a struct literal's field: `Self { queue: SegQueue::new() }`.
    Field {
        owner: String,
        field: String,
        value: &'ast Expr,
        body: &'ast syn::Block,
        self_type: Option<String>,
    },
}

/// Every use of a handle visible in this file, and the types it was stored or passed with.
pub struct Producers<'ast> {
    pub uses: Vec<HandleUse<'ast>>,
    /// Where the channel's own receiver takes messages: a loop fed by one of these is the
    /// consumer feeding its own queue (see [`Producers::pace`]).
    pub own_receives: Vec<Range<usize>>,
    /// Bindings made by an API that yields events of the local machine (a terminal's key
    /// events): a loop fed by one of these follows a person or the host, not outside traffic.
    pub local_sources: HashSet<String>,
    /// Declared types the handle was given: the fields it is stored in, the parameters it is
    /// passed as (`UnboundedSender<()>` says the payload is `()`).
    pub types: Vec<&'ast Type>,
}

/// A pending walk: a helper's parameter or a field, with the frames that lead to it.
enum Follow<'ast> {
    Param {
        item: usize,
        name: String,
        frames: Vec<Frame<'ast>>,
    },
    /// `owner.field`: keyed by the struct, since two structs of a file may share a field name.
    Field {
        owner: String,
        field: String,
        frames: Vec<Frame<'ast>>,
    },
}

/// Every use of the handle bound by `start.names`, following it through this file.
pub fn handle_uses<'ast>(
    index: &FileIndex<'ast>,
    vocab: &Vocabulary,
    start: Start<'ast>,
) -> Producers<'ast> {
    let mut out = Producers {
        uses: Vec::new(),
        own_receives: Vec::new(),
        local_sources: HashSet::new(),
        types: Vec::new(),
    };
    let mut pending = Vec::new();
    match start {
        Start::Let {
            names,
            stmts,
            body,
            self_type,
        } => {
            let mut walker = Walker::new(index, vocab, body, self_type, Vec::new());
            walker.names.extend(names);
            walker.visit_stmts(stmts);
            walker.finish(&mut out, &mut pending);
        }
        Start::Field {
            owner,
            field,
            value,
            body,
            self_type,
        } => {
            let mut walker = Walker::new(index, vocab, body, self_type, Vec::new());
            walker.store_in_field(&owner, &field, value);
            walker.finish(&mut out, &mut pending);
        }
    }
    let mut walked_params: HashSet<(usize, String)> = HashSet::new();
    let mut walked_fields: HashSet<(String, String)> = HashSet::new();
    let mut walks = 1;
    while let Some(follow) = pending.pop() {
        if walks >= MAX_WALKS {
            // Too much to follow: what was not walked is not visible.
            out.uses.push(HandleUse {
                kind: UseKind::Escapes {
                    how: "followed further than this rule looks".to_owned(),
                },
                range: 0..0,
                frames: Vec::new(),
                call: None,
            });
            break;
        }
        match follow {
            Follow::Param { item, name, frames } => {
                if !walked_params.insert((item, name.clone())) {
                    continue;
                }
                walks += 1;
                let f = &index.fns[item];
                let mut walker = Walker::new(index, vocab, f.body, f.owner.clone(), frames);
                walker.names.insert(name);
                walker.visit_block(f.body);
                walker.finish(&mut out, &mut pending);
            }
            Follow::Field {
                owner,
                field,
                frames,
            } => {
                if !walked_fields.insert((owner.clone(), field.clone())) {
                    continue;
                }
                // Every function of the file that reads the field is a producer, once per call.
                for (item, f) in index.fns.iter().enumerate() {
                    if !mentions_field(f.body, &field) {
                        continue;
                    }
                    walks += 1;
                    let mut frames = frames.clone();
                    frames.push(Frame::Method { item });
                    let mut walker = Walker::new(index, vocab, f.body, f.owner.clone(), frames);
                    walker.field = Some((owner.clone(), field.clone()));
                    walker.visit_block(f.body);
                    walker.finish(&mut out, &mut pending);
                }
            }
        }
    }
    out
}

struct Walker<'i, 'ast> {
    index: &'i FileIndex<'ast>,
    vocab: &'i Vocabulary,
    /// The handle's names in this body (its binding and aliases).
    names: HashSet<String>,
    /// A field (struct, field) whose every read is the handle (when walking a function reached
    /// through it): a read on a value of another known type is another struct's field.
    field: Option<(String, String)>,
    body: &'ast syn::Block,
    self_type: Option<String>,
    frames: Vec<Frame<'ast>>,
    uses: Vec<HandleUse<'ast>>,
    types: Vec<&'ast Type>,
    follows: Vec<Follow<'ast>>,
}

impl<'i, 'ast> Walker<'i, 'ast> {
    fn new(
        index: &'i FileIndex<'ast>,
        vocab: &'i Vocabulary,
        body: &'ast syn::Block,
        self_type: Option<String>,
        frames: Vec<Frame<'ast>>,
    ) -> Self {
        Walker {
            index,
            vocab,
            names: HashSet::new(),
            field: None,
            body,
            self_type,
            frames,
            uses: Vec::new(),
            types: Vec::new(),
            follows: Vec::new(),
        }
    }

    fn finish(self, out: &mut Producers<'ast>, pending: &mut Vec<Follow<'ast>>) {
        out.uses.extend(self.uses);
        out.types.extend(self.types);
        pending.extend(self.follows);
    }

    fn record(&mut self, kind: UseKind, node: &impl Spanned) {
        self.uses.push(HandleUse {
            kind,
            range: node.span().byte_range(),
            frames: self.frames.clone(),
            call: None,
        });
    }

    /// Records the handle passed, as argument `arg` of `call`, to a function not followed.
    fn record_passed(
        &mut self,
        callee: String,
        path: Option<syn::Path>,
        call: &'ast Expr,
        arg: usize,
        node: &impl Spanned,
    ) {
        self.record(
            UseKind::PassedTo {
                callee,
                followed: false,
                path,
            },
            node,
        );
        if let Some(u) = self.uses.last_mut() {
            u.call = Some((call, arg));
        }
    }

    fn escape(&mut self, how: &str, node: &impl Spanned) {
        self.record(
            UseKind::Escapes {
                how: how.to_owned(),
            },
            node,
        );
    }

    /// Whether `e` is the handle: one of its names, the followed field, or a wrapper of either.
    fn is_handle(&self, e: &Expr) -> bool {
        match e {
            Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .is_some_and(|i| self.names.contains(&i.to_string())),
            Expr::Field(f) => self.field.as_ref().is_some_and(|(owner, name)| {
                member_is(&f.member, name) && self.type_of(&f.base).is_none_or(|ty| ty == *owner)
            }),
            Expr::Paren(p) => self.is_handle(&p.expr),
            Expr::Group(g) => self.is_handle(&g.expr),
            Expr::Reference(r) => self.is_handle(&r.expr),
            Expr::Try(t) => self.is_handle(&t.expr),
            Expr::Await(a) => self.is_handle(&a.base),
            Expr::MethodCall(m) => {
                HANDLE_METHODS.iter().any(|h| m.method == h) && self.is_handle(&m.receiver)
            }
            Expr::Call(c) => {
                is_wrapper_call(&c.func) && c.args.len() == 1 && self.is_handle(&c.args[0])
            }
            _ => false,
        }
    }

    /// Adds every identifier a pattern binds as an alias of the handle.
    fn alias_pattern(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        pattern_idents(pat, &mut names);
        self.names.extend(names);
    }

    /// A closure or async block argument of a call to `callee`, with its frame.
    fn visit_body_arg(&mut self, arg: &'ast Expr, callee: &'ast Expr, callee_name: &str) {
        match peel_paren(arg) {
            Expr::Closure(c) => {
                let frame = if self.vocab.once_callers.iter().any(|o| o == callee_name) {
                    Frame::Task
                } else {
                    Frame::Callback { callee }
                };
                self.frames.push(frame);
                self.visit_expr(&c.body);
                self.frames.pop();
            }
            _ => self.visit_expr(arg),
        }
    }

    fn visit_method_call(&mut self, e: &'ast Expr, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        if self.is_handle(&m.receiver) {
            if self.vocab.acts.contains(&method) {
                let replied = self.awaits_reply(m);
                let unit =
                    m.args.len() == 1 && matches!(&m.args[0], Expr::Tuple(t) if t.elems.is_empty());
                self.record(
                    UseKind::Act {
                        method,
                        replied,
                        unit,
                    },
                    e,
                );
            } else if ONCE_COMBINATORS.contains(&method.as_str()) {
                // `self.tx.as_ref().map(|tx| tx.send(..))`: the closure's argument is the handle.
                for arg in &m.args {
                    match peel_paren(arg) {
                        Expr::Closure(c) => {
                            for input in &c.inputs {
                                self.alias_pattern(input);
                            }
                            self.visit_expr(&c.body);
                        }
                        other => self.visit_expr(other),
                    }
                }
                return;
            } else if !INERT_METHODS.contains(&method.as_str())
                && !self.vocab.inert.contains(&method)
            {
                self.escape(&format!("handed to `.{method}()`"), e);
            }
            for arg in &m.args {
                self.visit_expr(arg);
            }
            return;
        }
        self.visit_expr(&m.receiver);
        for (i, arg) in m.args.iter().enumerate() {
            if !self.is_handle(arg) {
                self.visit_body_arg(arg, e, &method);
                continue;
            }
            let on_self =
                matches!(peel_paren(&m.receiver), Expr::Path(p) if p.path.is_ident("self"));
            let helpers = match (&self.self_type, on_self) {
                (Some(t), true) => self.index.fns_named(Some(t), &method),
                _ => Vec::new(),
            };
            if !helpers.is_empty() {
                self.follow_param(&helpers, i, true, arg, &format!("self.{method}"));
            } else if STORING_METHODS.contains(&method.as_str()) {
                let into = render(&m.receiver);
                self.escape(&format!("stored in `{into}`"), arg);
            } else {
                self.record_passed(format!("`.{method}()`"), None, e, i, arg);
            }
        }
    }

    fn visit_call(&mut self, e: &'ast Expr, c: &'ast syn::ExprCall) {
        // `(|| { .. })()`: a closure run here, once.
        if let Expr::Closure(closure) = peel_paren(&c.func) {
            self.frames.push(Frame::Task);
            self.visit_expr(&closure.body);
            self.frames.pop();
            for arg in &c.args {
                self.visit_expr(arg);
            }
            return;
        }
        let path = match &*c.func {
            Expr::Path(p) if p.qself.is_none() => Some(&p.path),
            _ => None,
        };
        let segments: Vec<String> = path
            .map(|p| p.segments.iter().map(|s| s.ident.to_string()).collect())
            .unwrap_or_default();
        let last = segments.last().cloned().unwrap_or_default();
        self.visit_expr(&c.func);
        for (i, arg) in c.args.iter().enumerate() {
            if !self.is_handle(arg) {
                self.visit_body_arg(arg, e, &last);
                continue;
            }
            if matches!(segments.as_slice(), [d] | [.., _, d] if d == "drop") {
                continue;
            }
            // A tuple struct of this file: `Wrapper(tx)`.
            let tuple_struct = match segments.as_slice() {
                [s] if s == "Self" => self.self_type.clone(),
                [s] => Some(s.clone()),
                _ => None,
            }
            .filter(|s| self.index.is_tuple_struct(s));
            if let Some(owner) = tuple_struct {
                self.store_in_field(&owner, &i.to_string(), arg);
                continue;
            }
            let helpers = match segments.as_slice() {
                [f] => self.index.fns_named(None, f),
                [t, f] if t == "Self" => self
                    .self_type
                    .clone()
                    .map(|t| self.index.fns_named(Some(&t), f))
                    .unwrap_or_default(),
                [t, f] => self.index.fns_named(Some(t), f),
                _ => Vec::new(),
            };
            if helpers.is_empty() {
                self.record_passed(
                    format!("`{}`", segments.join("::")),
                    path.cloned(),
                    e,
                    i,
                    arg,
                );
            } else {
                self.follow_param(&helpers, i, false, arg, &segments.join("::"));
            }
        }
    }

    /// Follows the handle into parameter `index` (counting `self` for a path call) of `helpers`.
    fn follow_param(
        &mut self,
        helpers: &[usize],
        arg_index: usize,
        method_call: bool,
        arg: &Expr,
        callee: &str,
    ) {
        let mut followed = false;
        for &item in helpers {
            let sig = self.index.fns[item].sig;
            let has_self = matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
            let skip = usize::from(has_self && !method_call);
            let Some(position) = arg_index.checked_sub(skip) else {
                continue;
            };
            let typed = sig.inputs.iter().filter_map(|a| match a {
                syn::FnArg::Typed(t) => Some(t),
                syn::FnArg::Receiver(_) => None,
            });
            let Some(param) = typed.clone().nth(position) else {
                continue;
            };
            let syn::Pat::Ident(name) = &*param.pat else {
                continue;
            };
            self.types.push(&param.ty);
            self.follows.push(Follow::Param {
                item,
                name: name.ident.to_string(),
                frames: self.frames.clone(),
            });
            followed = true;
        }
        self.record(
            UseKind::PassedTo {
                callee: format!("`{callee}`"),
                followed,
                path: None,
            },
            arg,
        );
    }

    /// The handle stored in `owner.field`: followed when the struct is in this file and the field
    /// is private (all its reads are then in this file, or in its child modules).
    fn store_in_field(&mut self, owner: &str, field: &str, node: &impl Spanned) {
        let found = self.index.field(owner, field);
        let followed = found.is_some_and(|f| f.private);
        if let Some(f) = found {
            self.types.push(f.ty);
        }
        if followed {
            self.follows.push(Follow::Field {
                owner: owner.to_owned(),
                field: field.to_owned(),
                frames: self.frames.clone(),
            });
        }
        self.record(
            UseKind::IntoField {
                owner: owner.to_owned(),
                field: field.to_owned(),
                followed,
            },
            node,
        );
    }

    /// The type (last path segment, through references and wrappers) of a field access's base,
    /// when this body declares it: `self`, a typed parameter, a typed `let`, a struct literal.
    fn type_of(&self, base: &Expr) -> Option<String> {
        let name = match peel_paren(base) {
            Expr::Path(p) if p.qself.is_none() => p.path.get_ident()?.to_string(),
            Expr::Reference(r) => return self.type_of(&r.expr),
            _ => return None,
        };
        if name == "self" {
            return self.self_type.clone();
        }
        let named = |pat: &Pat| matches!(strip_type(pat), Pat::Ident(i) if i.ident == name);
        let param = self.index.sig_of(self.body).and_then(|sig| {
            sig.inputs.iter().find_map(|a| match a {
                syn::FnArg::Typed(t) if named(&t.pat) => Some(&*t.ty),
                _ => None,
            })
        });
        if let Some(ty) = param {
            return type_name(ty, self.self_type.as_deref());
        }
        struct Lets<'n> {
            named: &'n dyn Fn(&Pat) -> bool,
            self_type: Option<&'n str>,
            found: Option<String>,
        }
        impl<'ast> Visit<'ast> for Lets<'_> {
            fn visit_local(&mut self, l: &'ast syn::Local) {
                if (self.named)(&l.pat) {
                    self.found = match (&l.pat, &l.init) {
                        (Pat::Type(t), _) => type_name(&t.ty, self.self_type),
                        (_, Some(init)) => match peel_paren(&init.expr) {
                            Expr::Struct(s) => s.path.segments.last().map(|s| s.ident.to_string()),
                            _ => None,
                        },
                        _ => None,
                    };
                }
                visit::visit_local(self, l);
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        let mut lets = Lets {
            named: &named,
            self_type: self.self_type.as_deref(),
            found: None,
        };
        lets.visit_block(self.body);
        let found = lets.found;
        found.map(|ty| match ty.as_str() {
            "Self" => self.self_type.clone().unwrap_or(ty),
            _ => ty,
        })
    }

    /// Whether a send's payload carries a reply sender made in this body, whose receiver is
    /// waited on after the send: a request/reply exchange, one message in flight per caller.
    fn awaits_reply(&self, m: &syn::ExprMethodCall) -> bool {
        let mut mentioned = Vec::new();
        for arg in &m.args {
            idents_in(arg, &mut mentioned);
        }
        let after = m.span().byte_range().end;
        mentioned.iter().any(|reply| {
            let Some(receiver) = reply_receiver_of(self.body, reply) else {
                return false;
            };
            waited_after(self.body, &receiver, after)
        })
    }
}

impl<'ast> Visit<'ast> for Walker<'_, 'ast> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.is_handle(e) {
            self.escape("used in a way this rule does not follow", e);
            return;
        }
        match e {
            Expr::MethodCall(m) => self.visit_method_call(e, m),
            Expr::Call(c) => self.visit_call(e, c),
            Expr::Struct(s) => {
                let owner = s.path.segments.last().map(|seg| seg.ident.to_string());
                let owner = match owner.as_deref() {
                    Some("Self") => self.self_type.clone(),
                    _ => owner,
                };
                for fv in &s.fields {
                    if !self.is_handle(&fv.expr) {
                        self.visit_expr(&fv.expr);
                        continue;
                    }
                    let field = match &fv.member {
                        syn::Member::Named(n) => n.to_string(),
                        syn::Member::Unnamed(i) => i.index.to_string(),
                    };
                    match &owner {
                        Some(o) => self.store_in_field(&o.clone(), &field, fv),
                        None => self.escape("stored in a struct", fv),
                    }
                }
                if let Some(rest) = &s.rest {
                    self.visit_expr(rest);
                }
            }
            Expr::Assign(a) => {
                if self.is_handle(&a.left) {
                    // Overwritten (`self.tx = None`): not a use.
                    self.visit_expr(&a.right);
                } else if self.is_handle(&a.right) {
                    match &*a.left {
                        Expr::Path(p) if p.path.get_ident().is_some() => {
                            let name = p.path.get_ident().map(|i| i.to_string());
                            self.names.extend(name);
                        }
                        Expr::Field(f) if is_self(&f.base) => match (&self.self_type, &f.member) {
                            (Some(owner), syn::Member::Named(n)) => {
                                self.store_in_field(&owner.clone(), &n.to_string(), &*a.left)
                            }
                            _ => self.escape("stored in a field", &*a.left),
                        },
                        _ => self.escape("assigned to a place this rule does not follow", e),
                    }
                } else {
                    visit::visit_expr(self, e);
                }
            }
            Expr::Let(l) if self.is_handle(&l.expr) => self.alias_pattern(&l.pat),
            Expr::Match(m) if self.is_handle(&m.expr) => {
                for arm in &m.arms {
                    self.alias_pattern(&arm.pat);
                    if let Pat::Guard(g) = &arm.pat {
                        self.visit_expr(&g.guard);
                    }
                    self.visit_expr(&arm.body);
                }
            }
            Expr::Tuple(t) if t.elems.iter().any(|x| self.is_handle(x)) => {
                for x in &t.elems {
                    if self.is_handle(x) {
                        self.escape("handed on in a tuple", x);
                    } else {
                        self.visit_expr(x);
                    }
                }
            }
            Expr::Return(r) if r.expr.as_deref().is_some_and(|x| self.is_handle(x)) => {
                self.escape("returned", e);
            }
            Expr::ForLoop(f) => {
                self.visit_expr(&f.expr);
                self.frames.push(Frame::Loop(e, self.body));
                self.visit_block(&f.body);
                self.frames.pop();
            }
            Expr::While(_) | Expr::Loop(_) => {
                self.frames.push(Frame::Loop(e, self.body));
                visit::visit_expr(self, e);
                self.frames.pop();
            }
            Expr::Async(a) => {
                self.frames.push(Frame::Task);
                self.visit_block(&a.block);
                self.frames.pop();
            }
            Expr::Closure(c) => {
                self.frames.push(Frame::Callback { callee: e });
                self.visit_expr(&c.body);
                self.frames.pop();
            }
            Expr::Macro(m) => self.visit_macro_tokens(&m.mac),
            _ => visit::visit_expr(self, e),
        }
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            if self.is_handle(&init.expr) {
                self.alias_pattern(&l.pat);
                if let Some((_, diverge)) = &init.diverge {
                    self.visit_expr(diverge);
                }
                return;
            }
        }
        visit::visit_local(self, l);
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.visit_stmts(&b.stmts);
    }

    fn visit_stmt_macro(&mut self, m: &'ast syn::StmtMacro) {
        self.visit_macro_tokens(&m.mac);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

impl<'ast> Walker<'_, 'ast> {
    /// The statements of a block, or its end after a `let`: a handle as the last, unterminated
    /// expression is the block's value, handed on.
    fn visit_stmts(&mut self, stmts: &'ast [syn::Stmt]) {
        for (i, stmt) in stmts.iter().enumerate() {
            match stmt {
                syn::Stmt::Expr(e, None) if i + 1 == stmts.len() && self.is_handle(e) => {
                    self.escape("returned", e);
                }
                _ => self.visit_stmt(stmt),
            }
        }
    }

    /// A macro left unexpanded that names the handle: what it does with it is not visible.
    fn visit_macro_tokens(&mut self, mac: &syn::Macro) {
        let named = crate::engine::macros::any_ident(&mac.tokens, &|i| {
            self.names.contains(i) || self.field.as_ref().is_some_and(|(_, f)| f == i)
        });
        if named {
            let name = mac
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            self.escape(&format!("used by the macro `{name}!`"), mac);
        }
    }
}

/// How a loop is fed.
#[derive(Clone)]
pub enum Feed {
    /// Once per item of a source outside the process: the source call and its text.
    /// `channel` names the receiver when the source is another channel's receiving end: its
    /// producers, not followed, set the pace.
    External {
        source: Range<usize>,
        text: String,
        accept: bool,
        channel: Option<String>,
        /// The identifier the source's receiver chain starts at (`events` of `events.next()`).
        root: Option<String>,
    },
    /// A loop over a local, finite collection or a range.
    Finite,
    /// Paced by a timer or an interval.
    Timer,
    /// Nothing visible paces it.
    Unknown,
}

/// What feeds `loop_expr`, judged from its header and (for `while` and `loop`) its body; `sig`
/// and `fn_body` are the enclosing function's, where the iterable of a `for` is declared.
pub fn feed(
    vocab: &Vocabulary,
    loop_expr: &Expr,
    sig: Option<&syn::Signature>,
    fn_body: &syn::Block,
) -> Feed {
    let (head, body, is_for) = match loop_expr {
        Expr::ForLoop(f) => (Some(&*f.expr), &f.body, true),
        Expr::While(w) => (Some(&*w.cond), &w.body, false),
        Expr::Loop(l) => (None, &l.body, false),
        _ => return Feed::Unknown,
    };
    let mut external = None;
    let mut timer = false;
    let mut look = |e: &Expr| {
        if external.is_some() {
            return;
        }
        if let Some(found) = source_call(vocab, e, false) {
            external = Some(found);
        }
        // `select!` branches (`pat = future => ..`) are awaited by the macro.
        if let Expr::Block(b) = e {
            if is_select(&b.attrs) {
                external = b.block.stmts.iter().find_map(|s| match s {
                    syn::Stmt::Local(syn::Local {
                        init: Some(init), ..
                    }) => source_call(vocab, &init.expr, true),
                    _ => None,
                });
            }
        }
        timer |= is_timer(vocab, e);
    };
    if let Some(head) = head {
        super::super::syntax::for_each_expr(head, true, &mut look);
    }
    if !is_for {
        for stmt in &body.stmts {
            for_each_stmt_expr(stmt, &mut look);
        }
    }
    if let Some((source, text, accept, root)) = external {
        let channel = root
            .clone()
            .filter(|r| is_receiver(r, sig, fn_body, ReceiverKind::Channel));
        return Feed::External {
            source,
            text,
            accept,
            channel,
            root,
        };
    }
    if let (true, Some(head)) = (is_for, head) {
        // `for m in rx` / `rx.iter()`: a channel's receiver is as finite as its producers.
        if let Some(name) = super::super::syntax::chain_root_ident(head) {
            if is_receiver(&name, sig, fn_body, ReceiverKind::Any) {
                let channel =
                    is_receiver(&name, sig, fn_body, ReceiverKind::Channel).then(|| name.clone());
                return Feed::External {
                    source: head.span().byte_range(),
                    text: name.clone(),
                    accept: false,
                    channel,
                    root: Some(name),
                };
            }
        }
        if is_local_collection(head) {
            return Feed::Finite;
        }
    }
    if let Expr::While(w) = loop_expr {
        if drains_local_collection(&w.cond, &w.body) {
            return Feed::Finite;
        }
    }
    if timer {
        return Feed::Timer;
    }
    Feed::Unknown
}

/// `while let Some(x) = queue.pop_front()` over a binding or field the body never refills: the
/// loop ends when the collection is empty.
fn drains_local_collection(cond: &Expr, body: &syn::Block) -> bool {
    const POPS: &[&str] = &["pop", "pop_front", "pop_back", "pop_first", "pop_last"];
    let Expr::Let(l) = peel_paren(cond) else {
        return false;
    };
    let Expr::MethodCall(m) = peel_paren(&l.expr) else {
        return false;
    };
    if !POPS.iter().any(|p| m.method == p)
        || !matches!(peel_paren(&m.receiver), Expr::Path(_) | Expr::Field(_))
    {
        return false;
    }
    let collection = render(&m.receiver);
    let mut refilled = false;
    super::super::syntax::for_each_expr_in_block(body, false, &mut |e| {
        if let Expr::MethodCall(c) = e {
            refilled |= !POPS.iter().any(|p| c.method == p) && render(&c.receiver) == collection;
        }
    });
    !refilled
}

/// An outside source: `listener.accept()`, `socket.recv()`, an awaited `stream.next()`; with
/// the identifier its receiver chain starts at.
fn source_call(
    vocab: &Vocabulary,
    e: &Expr,
    awaited: bool,
) -> Option<(Range<usize>, String, bool, Option<String>)> {
    let (m, awaited) = match e {
        Expr::Await(a) => match peel_paren(&a.base) {
            Expr::MethodCall(m) => (m, true),
            _ => return None,
        },
        Expr::MethodCall(m) => (m, awaited),
        _ => return None,
    };
    let method = m.method.to_string();
    let is_source =
        vocab.external.contains(&method) || (awaited && vocab.awaited_external.contains(&method));
    if !is_source {
        return None;
    }
    let text = format!("{}.{method}()", render(&m.receiver));
    let root = super::super::syntax::chain_root_ident(&m.receiver);
    Some((
        e.span().byte_range(),
        text,
        vocab.accepts.contains(&method),
        root,
    ))
}

/// Which receiving ends [`is_receiver`] accepts.
#[derive(Clone, Copy, PartialEq)]
enum ReceiverKind {
    /// A channel's receiver, a stream or an `Incoming`.
    Any,
    /// Only a channel's receiver (a type naming `Receiver`, or the second of a channel tuple).
    Channel,
}

/// Whether `name` is declared as a receiving end: the second name of a `let (tx, rx)` made by a
/// channel-like constructor, or a binding or parameter whose type names a receiver or stream.
fn is_receiver(
    name: &str,
    sig: Option<&syn::Signature>,
    body: &syn::Block,
    kind: ReceiverKind,
) -> bool {
    let receiving_type = |ty: &Type| {
        let mut found = false;
        struct Names<'f>(&'f mut bool, ReceiverKind);
        impl<'ast> Visit<'ast> for Names<'_> {
            fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
                let n = s.ident.to_string();
                *self.0 |= n.contains("Receiver")
                    || (self.1 == ReceiverKind::Any && (n.contains("Stream") || n == "Incoming"));
                visit::visit_path_segment(self, s);
            }
        }
        Names(&mut found, kind).visit_type(ty);
        found
    };
    let param = sig.is_some_and(|sig| {
        sig.inputs.iter().any(|a| match a {
            syn::FnArg::Typed(t) => {
                matches!(strip_type(&t.pat), Pat::Ident(i) if i.ident == name)
                    && receiving_type(&t.ty)
            }
            syn::FnArg::Receiver(_) => false,
        })
    });
    if param {
        return true;
    }
    struct Find<'n> {
        name: &'n str,
        found: bool,
        receiving_type: &'n dyn Fn(&Type) -> bool,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            let mut names = Vec::new();
            pattern_idents(&l.pat, &mut names);
            if names.iter().any(|n| n == self.name) {
                let typed = matches!(&l.pat, Pat::Type(t) if (self.receiving_type)(&t.ty));
                let second_of_channel = matches!(strip_type(&l.pat), Pat::Tuple(t)
                    if t.elems.iter().skip(1).any(|p| matches!(strip_type(p), Pat::Ident(i) if i.ident == self.name)))
                    && l.init.as_ref().is_some_and(|i| is_channel_like(&i.expr));
                // `let mut events = bus.subscribe();`: a broadcast channel's receiving end.
                let subscribed = matches!(strip_type(&l.pat), Pat::Ident(_))
                    && l.init.as_ref().is_some_and(|i| {
                        matches!(super::super::syntax::peel(&i.expr), Expr::MethodCall(m) if m.method == "subscribe" && m.args.is_empty())
                    });
                self.found |= typed || second_of_channel || subscribed;
            }
            visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find {
        name,
        found: false,
        receiving_type: &receiving_type,
    };
    find.visit_block(body);
    find.found
}

/// A call whose function's name says it makes a channel: `channel()`, `unbounded()`, `oneshot`.
fn is_channel_like(init: &Expr) -> bool {
    match super::super::syntax::peel(init) {
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| {
                let n = s.ident.to_string();
                n.contains("channel") || n == "oneshot" || n.ends_with("bounded")
            }))
        }
        _ => false,
    }
}

/// A block made from a `select!` invocation.
fn is_select(attrs: &[syn::Attribute]) -> bool {
    crate::engine::macros::origin(attrs)
        .and_then(|p| p.segments.last().map(|s| s.ident.to_string()))
        .is_some_and(|n| n.starts_with("select"))
}

/// `interval.tick().await`, `sleep(d).await`, `thread::sleep(d)`.
fn is_timer(vocab: &Vocabulary, e: &Expr) -> bool {
    let is_timer_name = |n: &str| vocab.timers.iter().any(|t| t == n);
    match e {
        Expr::MethodCall(m) => is_timer_name(&m.method.to_string()),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| is_timer_name(&s.ident.to_string())),
            _ => false,
        },
        _ => false,
    }
}

/// A `for` loop's iterable that is a local, finite collection: a bounded range, a binding or
/// field, an array or `vec!`, or an iterator adaptor chain over one of them.
fn is_local_collection(e: &Expr) -> bool {
    const ADAPTORS: &[&str] = &[
        "iter",
        "iter_mut",
        "into_iter",
        "keys",
        "values",
        "values_mut",
        "into_values",
        "drain",
        "enumerate",
        "chunks",
        "chunks_exact",
        "windows",
        "rev",
        "skip",
        "take",
        "cloned",
        "copied",
        "filter",
        "map",
        "filter_map",
        "zip",
        "chain",
        "step_by",
    ];
    match e {
        Expr::Range(r) => r.end.is_some(),
        Expr::Path(_) | Expr::Field(_) | Expr::Array(_) => true,
        Expr::Macro(m) => m.mac.path.is_ident("vec"),
        Expr::Paren(p) => is_local_collection(&p.expr),
        Expr::Reference(r) => is_local_collection(&r.expr),
        Expr::MethodCall(m) => {
            ADAPTORS.iter().any(|a| m.method == a) && is_local_collection(&m.receiver)
        }
        _ => false,
    }
}

/// How a use is paced, from its own kind and the frames around it.
#[derive(Clone)]
pub enum Pace {
    /// Once per item of an outside source (`channel`: another channel's receiver, see [`Feed`]).
    External {
        source: Range<usize>,
        text: String,
        accept: bool,
        channel: Option<String>,
        at: Range<usize>,
    },
    /// In a loop nothing visible paces.
    Unpaced { at: Range<usize> },
    /// Its producers are not visible here.
    NotVisible {
        at: Range<usize>,
        reason: String,
        label: String,
    },
    /// Visibly bounded in volume.
    Bounded,
}

/// The medium-confidence reason of a queue fed per item of another channel's receiver `name`.
pub fn channel_feed_reason(name: &str) -> String {
    format!("the feeding source `{name}` is another channel's receiver: its producers, which are not followed, set the pace")
}

/// How a finding names an outside feed: the phrase after "once per" and the feeding site's label
/// (`unit` is what each item adds: "message", "push").
pub fn feed_words(text: &str, accept: bool, unit: &str) -> (String, String) {
    if accept {
        (
            format!("accepted connection (`{text}`)"),
            format!("one {unit} per accepted connection here"),
        )
    } else {
        (
            format!("item of `{text}`"),
            format!("fed once per item of `{text}` here"),
        )
    }
}

impl Pace {
    fn rank(&self) -> u8 {
        match self {
            Pace::External { .. } => 3,
            Pace::Unpaced { .. } => 2,
            Pace::NotVisible { .. } => 1,
            Pace::Bounded => 0,
        }
    }
}

impl<'ast> Producers<'ast> {
    /// Whether some producing call sends `()`: the payload type is then `()`.
    pub fn sends_unit(&self) -> bool {
        self.uses
            .iter()
            .any(|u| matches!(u.kind, UseKind::Act { unit: true, .. }))
    }

    /// The handle as a whole: the most telling pace of any use (outside feed first), the first in
    /// source order among equals. `None` when there is no use at all.
    pub fn judge(&self, index: &FileIndex<'_>, vocab: &Vocabulary) -> Option<Pace> {
        let mut best: Option<Pace> = None;
        for u in &self.uses {
            let p = self.pace(index, vocab, u);
            if best.as_ref().is_none_or(|b| p.rank() > b.rank()) {
                best = Some(p);
            }
        }
        best
    }

    /// One use's pace.
    pub fn pace(&self, index: &FileIndex<'_>, vocab: &Vocabulary, u: &HandleUse<'ast>) -> Pace {
        if matches!(
            u.kind,
            UseKind::Act { replied: true, .. } | UseKind::Act { unit: true, .. }
        ) {
            return Pace::Bounded;
        }
        // The innermost loop fed from outside decides, whatever else is around it.
        for frame in u.frames.iter().rev() {
            if let Frame::Loop(l, body) = frame {
                if let Feed::External {
                    source,
                    text,
                    accept,
                    channel,
                    root,
                } = feed(vocab, l, index.sig_of(body), body)
                {
                    if root.is_some_and(|r| self.local_sources.contains(&r)) {
                        return Pace::Bounded;
                    }
                    // The loop drains this very channel: the consumer feeds its own queue (a
                    // work list), whose volume is the work itself; a bound could deadlock it.
                    if self.own_receives.iter().any(|r| contains(&source, r)) {
                        return Pace::Bounded;
                    }
                    if !self.lock_step(l) {
                        return Pace::External {
                            source,
                            text,
                            accept,
                            channel,
                            at: u.range.clone(),
                        };
                    }
                }
            }
        }
        for frame in &u.frames {
            if let Frame::Loop(l, body) = frame {
                if matches!(feed(vocab, l, index.sig_of(body), body), Feed::Unknown)
                    && !self.lock_step(l)
                {
                    if let UseKind::Act { .. } = u.kind {
                        return Pace::Unpaced {
                            at: u.range.clone(),
                        };
                    }
                }
            }
        }
        let noun = &vocab.noun;
        let own = match &u.kind {
            UseKind::Act { .. } => None,
            UseKind::IntoField {
                owner,
                field,
                followed: false,
            } => Some(if index.field(owner, field).is_some() {
                (
                    format!("the {noun} is stored in the public field `{owner}.{field}`"),
                    format!("stored here in the public field `{owner}.{field}`"),
                )
            } else {
                (
                    format!("the {noun} is stored in `{owner}.{field}`, a struct of another file"),
                    format!("stored here in `{owner}.{field}`, a struct of another file"),
                )
            }),
            UseKind::PassedTo {
                callee,
                followed: false,
                ..
            } => Some((
                format!("the {noun} is passed to {callee}, which is not in this file"),
                format!("passed here to {callee}, which is not in this file"),
            )),
            UseKind::IntoField { .. } | UseKind::PassedTo { .. } => None,
            UseKind::LocalSource => return Pace::Bounded,
            UseKind::Escapes { how } => {
                Some((format!("the {noun} is {how}"), format!("{how} here")))
            }
        };
        if let Some((reason, label)) = own {
            return Pace::NotVisible {
                at: u.range.clone(),
                reason,
                label,
            };
        }
        let what = match u.kind {
            UseKind::Act { .. } => format!("it is {}", vocab.acted),
            _ => format!("the {noun} is used"),
        };
        for (depth, frame) in u.frames.iter().enumerate() {
            match frame {
                // A method that consumes its value and sends outside any loop or callback sends
                // at most once per value: the volume is the number of handles, not a stream.
                Frame::Method { item }
                    if matches!(u.kind, UseKind::Act { .. })
                        && consumes_self(index.fns[*item].sig)
                        && u.frames[depth + 1..]
                            .iter()
                            .all(|f| matches!(f, Frame::Task)) =>
                {
                    return Pace::Bounded;
                }
                Frame::Callback { callee } => {
                    let (reason, label) = match callee_text(callee) {
                        Some(c) => (
                            format!("{what} from a closure passed to {c}, which may run it any number of times"),
                            format!("{c} may run this closure any number of times"),
                        ),
                        None => (
                            format!("{what} from a closure that may run any number of times"),
                            "this closure may run any number of times".to_owned(),
                        ),
                    };
                    return Pace::NotVisible {
                        at: callee_range(callee),
                        reason,
                        label,
                    };
                }
                Frame::Method { item } => {
                    let name = index.fn_label(*item);
                    return Pace::NotVisible {
                        at: u.range.clone(),
                        reason: format!(
                            "{what} in `{name}`, once per call, and its callers are not followed"
                        ),
                        label: format!("{} here, once per call of `{name}`", vocab.acted),
                    };
                }
                _ => {}
            }
        }
        Pace::Bounded
    }

    /// The methods (file items) whose calls are the only producers not visible here: every use
    /// is visibly bounded or a send in such a method, once per call. `None` when some producer
    /// is out of view for another reason (or in a free function, which has no method key).
    pub fn sent_once_per_call(
        &self,
        index: &FileIndex<'_>,
        vocab: &Vocabulary,
    ) -> Option<Vec<usize>> {
        let mut methods = Vec::new();
        for u in &self.uses {
            match self.pace(index, vocab, u) {
                Pace::Bounded => {}
                Pace::NotVisible { .. } => {
                    let via = u.frames.iter().find_map(|f| match f {
                        Frame::Method { item } => Some(Some(*item)),
                        Frame::Callback { .. } => Some(None),
                        _ => None,
                    });
                    match (&u.kind, via) {
                        (UseKind::Act { .. }, Some(Some(item)))
                            if index.fns[item].owner.is_some() =>
                        {
                            if !methods.contains(&item) {
                                methods.push(item);
                            }
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        (!methods.is_empty()).then_some(methods)
    }

    /// Whether a loop waits, every iteration, for a reply to a request sent on this handle.
    fn lock_step(&self, loop_expr: &Expr) -> bool {
        let range = loop_expr.span().byte_range();
        self.uses.iter().any(|u| {
            matches!(u.kind, UseKind::Act { replied: true, .. })
                && range.start <= u.range.start
                && u.range.end <= range.end
        })
    }
}

/// `fn finish(self, ..)` (or `mut self`): each call uses up the value it is called on.
fn consumes_self(sig: &syn::Signature) -> bool {
    matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(r)) if matches!(r.kind, syn::ReceiverKind::Value))
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && inner.end > inner.start
}

/// The caller a closure is handed to, as written in a message: `` `.with_writer()` ``.
fn callee_text(callee: &Expr) -> Option<String> {
    match callee {
        Expr::MethodCall(m) => Some(format!("`.{}()`", m.method)),
        Expr::Call(c) => Some(format!("`{}`", render(&c.func))),
        _ => None,
    }
}

/// Where to point at that caller: the method name, the function path, the closure's head.
fn callee_range(callee: &Expr) -> Range<usize> {
    match callee {
        Expr::MethodCall(m) => m.method.span().byte_range(),
        Expr::Call(c) => c.func.span().byte_range(),
        Expr::Closure(c) => {
            c.inputs_begin.span().byte_range().start..c.inputs_end.span().byte_range().end
        }
        _ => callee.span().byte_range(),
    }
}

/// The receiver of `let (reply, receiver) = <channel>()` in `body`, when `reply` is a sender made
/// there by a channel-like constructor.
fn reply_receiver_of(body: &syn::Block, reply: &str) -> Option<String> {
    struct Find<'r> {
        reply: &'r str,
        found: Option<String>,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            if let (Pat::Tuple(t), Some(init)) = (strip_type(&l.pat), &l.init) {
                let names: Vec<Option<String>> = t
                    .elems
                    .iter()
                    .map(|p| match strip_type(p) {
                        Pat::Ident(i) => Some(i.ident.to_string()),
                        _ => None,
                    })
                    .collect();
                let channel_like = is_channel_like(&init.expr);
                if channel_like && names.first().and_then(|n| n.as_deref()) == Some(self.reply) {
                    self.found = names.get(1).cloned().flatten();
                }
            }
            visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find { reply, found: None };
    find.visit_block(body);
    find.found
}

/// Whether `receiver` is waited on after byte `after` in `body`: `rx.await`, `timeout(d, rx).await`,
/// `rx.recv()`.
fn waited_after(body: &syn::Block, receiver: &str, after: usize) -> bool {
    let mut waited = false;
    super::super::syntax::for_each_expr_in_block(body, false, &mut |e| {
        if waited || e.span().byte_range().start < after {
            return;
        }
        match e {
            Expr::Await(a) => {
                let mut names = Vec::new();
                idents_in(&a.base, &mut names);
                waited |= names.iter().any(|n| n == receiver);
            }
            Expr::MethodCall(m) => {
                waited |= REPLY_WAITS.iter().any(|w| m.method == w)
                    && matches!(peel_paren(&m.receiver), Expr::Path(p) if p.path.is_ident(receiver));
            }
            _ => {}
        }
    });
    waited
}

/// Whether `body` reads a field named `field` anywhere.
fn mentions_field(body: &syn::Block, field: &str) -> bool {
    struct Find<'f> {
        field: &'f str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Find<'_> {
        fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
            self.found |= member_is(&f.member, self.field);
            visit::visit_expr_field(self, f);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            self.found |= crate::engine::macros::any_ident(&m.tokens, &|i| i == self.field);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find {
        field,
        found: false,
    };
    find.visit_block(body);
    find.found
}

fn member_is(member: &syn::Member, name: &str) -> bool {
    match member {
        syn::Member::Named(n) => n == name,
        syn::Member::Unnamed(i) => i.index.to_string() == name,
    }
}

fn is_self(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.path.is_ident("self"))
}

/// `Some(h)`, `Ok(h)`, `Arc::new(h)`, `Mutex::new(h)`: the handle, wrapped.
fn is_wrapper_call(func: &Expr) -> bool {
    let Expr::Path(p) = func else { return false };
    let segs: Vec<String> = crate::rules::syntax::segment_names(&p.path);
    match segs.as_slice() {
        [one] => one == "Some" || one == "Ok",
        [.., ty, f] => {
            (f == "new" && WRAPPER_TYPES.contains(&ty.as_str())) || (f == "clone" && ty == "Arc")
        }
        _ => false,
    }
}

/// The name of a declared type, through references and the wrappers a handle's owner is held in
/// (`&Arc<Gateway>` → `Gateway`); `Self` is `self_type`.
fn type_name(ty: &Type, self_type: Option<&str>) -> Option<String> {
    match ty {
        Type::Reference(r) => type_name(&r.elem, self_type),
        Type::Paren(p) => type_name(&p.elem, self_type),
        Type::Group(g) => type_name(&g.elem, self_type),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            if name == "Self" {
                return self_type.map(str::to_owned);
            }
            if WRAPPER_TYPES.contains(&name.as_str()) || name == "Option" {
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                    return None;
                };
                return args.args.iter().find_map(|a| match a {
                    syn::GenericArgument::Type(t) => type_name(t, self_type),
                    _ => None,
                });
            }
            Some(name)
        }
        _ => None,
    }
}

fn peel_paren(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            _ => return e,
        };
    }
}

fn strip_type(p: &Pat) -> &Pat {
    match p {
        Pat::Type(t) => strip_type(&t.pat),
        _ => p,
    }
}

/// Every identifier a pattern binds.
fn pattern_idents(pat: &Pat, out: &mut Vec<String>) {
    struct Names<'o>(&'o mut Vec<String>);
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
            visit::visit_pat_ident(self, i);
        }
    }
    Names(out).visit_pat(pat);
}

/// Every single-identifier path in an expression (not entering nested items).
fn idents_in(e: &Expr, out: &mut Vec<String>) {
    super::super::syntax::for_each_expr(e, false, &mut |x| {
        if let Expr::Path(p) = x {
            if let Some(i) = p.path.get_ident() {
                out.push(i.to_string());
            }
        }
    });
}

fn for_each_stmt_expr<'ast>(stmt: &'ast syn::Stmt, f: &mut dyn FnMut(&'ast Expr)) {
    match stmt {
        syn::Stmt::Local(l) => {
            if let Some(init) = &l.init {
                super::super::syntax::for_each_expr(&init.expr, true, f);
            }
        }
        syn::Stmt::Expr(e, _) => super::super::syntax::for_each_expr(e, true, f),
        _ => {}
    }
}

/// A receiver chain written compactly for messages: `self.events`, `listener`, `stream`.
pub fn render(e: &Expr) -> String {
    match e {
        Expr::Path(p) => crate::rules::syntax::segment_names(&p.path).join("::"),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(n) => format!("{}.{n}", render(&f.base)),
            syn::Member::Unnamed(i) => format!("{}.{}", render(&f.base), i.index),
        },
        Expr::Paren(p) => render(&p.expr),
        Expr::Group(g) => render(&g.expr),
        Expr::Reference(r) => render(&r.expr),
        Expr::MethodCall(m) => format!("{}.{}()", render(&m.receiver), m.method),
        Expr::Await(a) => format!("{}.await", render(&a.base)),
        Expr::Try(t) => format!("{}?", render(&t.expr)),
        _ => "..".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        Vocabulary {
            noun: "sender".into(),
            acted: "sent".into(),
            acts: words(&["send"]),
            external: words(&["accept", "recv", "read_line"]),
            awaited_external: words(&["next"]),
            accepts: words(&["accept"]),
            timers: words(&["tick", "sleep"]),
            once_callers: words(&["spawn"]),
            inert: Vec::new(),
        }
    }

    /// The uses of `tx` from `let (tx, rx) = ..` in the first function named `f` of `src`.
    fn analyse(src: &str, check: impl FnOnce(&FileIndex<'_>, &Producers<'_>)) {
        let file = syn::parse_file(src).expect("test source parses");
        let index = FileIndex::new(&file);
        let f = index
            .fns
            .iter()
            .find(|f| f.name == "f")
            .expect("a function `f`");
        let local = f
            .body
            .stmts
            .iter()
            .find_map(|s| match s {
                syn::Stmt::Local(l) => Some(l),
                _ => None,
            })
            .expect("a `let` first");
        let stmts = crate::rules::syntax::stmts_after(f.body, local).expect("its scope");
        let uses = handle_uses(
            &index,
            &vocab(),
            Start::Let {
                names: vec!["tx".into()],
                stmts,
                body: f.body,
                self_type: f.owner.clone(),
            },
        );
        check(&index, &uses);
    }

    fn kinds(p: &Producers<'_>) -> Vec<String> {
        p.uses
            .iter()
            .map(|u| match &u.kind {
                UseKind::Act {
                    method, replied, ..
                } => format!("act {method} replied={replied}"),
                UseKind::IntoField {
                    owner,
                    field,
                    followed,
                } => format!("field {owner}.{field} followed={followed}"),
                UseKind::PassedTo {
                    callee, followed, ..
                } => format!("passed {callee} followed={followed}"),
                UseKind::LocalSource => "local source".to_owned(),
                UseKind::Escapes { how } => format!("escapes {how}"),
            })
            .collect()
    }

    #[test]
    fn follows_aliases_helpers_and_private_fields() {
        let src = r#"
            struct Sink { out: Sender<u8> }
            impl Sink { fn put(&self, b: u8) { let _ = self.out.send(b); } }
            fn helper(s: Sender<u8>) { s.send(1); }
            fn f() {
                let (tx, rx) = chan();
                let copy = tx.clone();
                helper(copy);
                let sink = Sink { out: tx.clone() };
                other::register(tx.clone());
                (tx, rx)
            }
        "#;
        analyse(src, |_, p| {
            assert_eq!(
                kinds(p),
                [
                    "passed `helper` followed=true",
                    "field Sink.out followed=true",
                    "passed `other::register` followed=false",
                    "escapes handed on in a tuple",
                    "act send replied=false",
                    "act send replied=false",
                ]
            );
        });
    }

    #[test]
    fn frames_say_what_runs_the_send() {
        let src = r#"
            fn f(l: Listener, w: Watcher) {
                let (tx, rx) = chan();
                let t = tx.clone();
                w.on_event(move |e| t.send(e));
                spawn(move || loop { let (c, _) = l.accept(); tx.send(c); });
            }
        "#;
        analyse(src, |index, p| {
            let paces: Vec<u8> = p
                .uses
                .iter()
                .map(|u| p.pace(index, &vocab(), u).rank())
                .collect();
            // The callback's producers are not visible; the accept loop feeds the other send.
            assert_eq!(paces, [1, 3]);
            match p.judge(index, &vocab()) {
                Some(Pace::External { text, accept, .. }) => {
                    assert_eq!(text, "l.accept()");
                    assert!(accept);
                }
                _ => panic!("expected an outside feed"),
            }
        });
    }

    #[test]
    fn request_reply_and_lock_step_are_bounded() {
        let src = r#"
            fn f(running: Flag) {
                let (tx, rx) = chan();
                while running.get() {
                    let (ack, wait) = oneshot::channel();
                    tx.send(Msg::Barrier(ack));
                    wait.await;
                    tx.send(Msg::Resume);
                }
            }
        "#;
        analyse(src, |index, p| {
            assert_eq!(
                kinds(p),
                ["act send replied=true", "act send replied=false"]
            );
            assert!(matches!(p.judge(index, &vocab()), Some(Pace::Bounded)));
        });
    }

    #[test]
    fn unpaced_loops_and_timers() {
        let unpaced = "fn f() { let (tx, rx) = chan(); loop { tx.send(make()); } }";
        analyse(unpaced, |index, p| {
            assert!(matches!(
                p.judge(index, &vocab()),
                Some(Pace::Unpaced { .. })
            ));
        });
        let timed = "fn f(i: Interval) { let (tx, rx) = chan(); spawn(async move { loop { i.tick().await; tx.send(1); } }); }";
        analyse(timed, |index, p| {
            assert!(matches!(p.judge(index, &vocab()), Some(Pace::Bounded)));
        });
        let relay =
            "fn f(rx: Receiver<u8>) { let (tx, r) = chan(); for m in rx.iter() { tx.send(m); } }";
        analyse(relay, |index, p| match p.judge(index, &vocab()) {
            Some(Pace::External { text, .. }) => assert_eq!(text, "rx"),
            _ => panic!("iterating a receiver is fed by its producers"),
        });
        let finite = "fn f(v: Vec<u8>) { let (tx, rx) = chan(); for x in v.iter() { tx.send(*x); } for i in 0.. { tx.send(i); } }";
        analyse(finite, |index, p| {
            let paces: Vec<u8> = p
                .uses
                .iter()
                .map(|u| p.pace(index, &vocab(), u).rank())
                .collect();
            assert_eq!(paces, [0, 2], "a range with no end is not finite");
        });
    }

    #[test]
    fn macros_that_name_the_handle_escape() {
        let src = "fn f() { let (tx, rx) = chan(); my_macro!(tx, 1); }";
        analyse(src, |_, p| {
            assert_eq!(kinds(p), ["escapes used by the macro `my_macro!`"])
        });
    }
}
