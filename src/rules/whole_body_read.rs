//! `whole-body-read`: a network body read whole into memory with no size limit.
use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{Expr, Pat};

mod outbound;

use outbound::Destination;

use super::network::Sockets;
use super::syntax::{
    chain_root_ident, const_value, for_each_expr_in_block, ident_of, peel, USIZE_MAX,
};
use super::{api_map, name_list, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::{Applicability, Context, RawFinding, RawFix, Rule};

pub const ID: &str = "whole-body-read";

/// How deep to follow `let` initializers back to a response.
const MAX_DEPTH: usize = 6;

pub struct WholeBodyRead {
    response_reads: Vec<String>,
    response_fns: HashSet<String>,
    response_types: HashSet<String>,
    response_passthrough: Vec<String>,
    client_executes: Vec<String>,
    result_adapters: Vec<String>,
    collect_fns: HashSet<String>,
    stream_readers: HashSet<String>,
    byte_streams: Vec<String>,
    client_crates: Vec<String>,
    read_methods: Vec<String>,
    body_reads: HashSet<String>,
    limited_bodies: HashSet<String>,
    limit_fns: std::collections::HashMap<String, Option<String>>,
    limit_disablers: HashSet<String>,
    limit_layers: HashSet<String>,
    limit_overrides: HashSet<String>,
    message_limit_methods: Vec<String>,
    config_limit_methods: Vec<String>,
    limit_config_types: HashSet<String>,
    warp_filters: HashSet<String>,
    decoders: HashSet<String>,
    decode_all_fns: HashSet<String>,
    writing_decoders: HashSet<String>,
    copy_fns: HashSet<String>,
    growable_buffers: HashSet<String>,
    body_types: HashSet<String>,
    body_views: Vec<String>,
    decode_fns: HashSet<String>,
    decode_methods: Vec<String>,
    value_passthrough: Vec<String>,
    view_fns: HashSet<String>,
    length_queries: Vec<String>,
    forwarding_methods: Vec<String>,
    request_methods: Vec<String>,
    response_type_names: Vec<String>,
    body_accessors: Vec<String>,
    decode_methods_of_response: Vec<String>,
    untyped_documents: HashSet<String>,
    sockets: Sockets,
    /// The limits the fixes write (the rule's options), as Rust integer literals.
    max_read_bytes: String,
    max_message_size: String,
}

impl WholeBodyRead {
    pub fn new(doc: &RuleDoc, options: &RuleOptions, _ext: &ApiExtensions) -> Self {
        let limit = |key: &str| super::rust_integer(options.int(doc, key));
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        WholeBodyRead {
            response_reads: name_list(doc, "response-reads"),
            response_fns: keys("response-functions"),
            response_types: keys("response-types"),
            response_passthrough: name_list(doc, "response-passthrough"),
            client_executes: name_list(doc, "client-executes"),
            result_adapters: name_list(doc, "result-adapters"),
            collect_fns: keys("collect-functions"),
            stream_readers: keys("stream-readers"),
            byte_streams: name_list(doc, "byte-streams"),
            client_crates: name_list(doc, "client-crates"),
            read_methods: name_list(doc, "read-to-end"),
            body_reads: keys("whole-body-functions"),
            limited_bodies: keys("limited-bodies"),
            limit_fns: api_map(doc, "limit-functions"),
            limit_disablers: keys("limit-disablers"),
            limit_layers: keys("limit-layers"),
            limit_overrides: keys("limit-overrides"),
            message_limit_methods: name_list(doc, "message-limit-methods"),
            config_limit_methods: name_list(doc, "config-limit-methods"),
            limit_config_types: keys("limit-config-types"),
            warp_filters: keys("warp-body-filters"),
            decoders: keys("decoder-constructors"),
            decode_all_fns: keys("decode-all-functions"),
            writing_decoders: keys("writing-decoder-constructors"),
            copy_fns: keys("copy-functions"),
            growable_buffers: keys("growable-buffers"),
            body_types: keys("body-types"),
            body_views: name_list(doc, "body-views"),
            decode_fns: keys("decode-functions"),
            decode_methods: name_list(doc, "decode-methods"),
            value_passthrough: name_list(doc, "value-passthrough"),
            view_fns: keys("view-functions"),
            length_queries: name_list(doc, "length-queries"),
            forwarding_methods: name_list(doc, "forwarding-methods"),
            request_methods: name_list(doc, "request-methods"),
            response_type_names: name_list(doc, "response-type-names"),
            body_accessors: name_list(doc, "body-accessors"),
            decode_methods_of_response: name_list(doc, "decoding-reads"),
            untyped_documents: keys("untyped-documents"),
            sockets: Sockets::from_doc(doc),
            max_read_bytes: limit("max-read-bytes"),
            max_message_size: limit("max-message-size"),
        }
    }

    /// `.take(N)` before `read_to_end` on a socket. Blocking (`std::io::Read`, outside async
    /// code): `s.by_ref().take(N)`, which needs no more access than the read did. Awaited (`AsyncReadExt::take` consumes its
    /// receiver): `(&mut s).take(N)`, only where `s` is a binding declared `mut`. Unsafe: a longer
    /// stream is cut at N bytes without an error.
    fn take_fix(&self, cx: &Context<'_>, m: &syn::ExprMethodCall) -> Option<RawFix> {
        let limit = &self.max_read_bytes;
        let fix = RawFix::new(
            Applicability::Unsafe,
            format!("read at most {limit} bytes: a longer stream is cut there without an error (compare the length read with the limit to tell)"),
        );
        // An await has one operand: its parent being one means this read is awaited.
        let awaited = matches!(cx.ancestors().next(), Some(Expr::Await(_)));
        if !awaited {
            // `by_ref` is `std::io::Read`'s: in async code the read may be a future's (futures'
            // `AsyncReadExt` has none), so only outside it.
            let in_async = cx.current_fn().is_some_and(|f| f.sig.asyncness.is_some())
                || cx.ancestors().any(|e| matches!(e, Expr::Async(_)));
            if in_async {
                return None;
            }
            let at = m.dot_token.span.byte_range().start;
            return Some(fix.edit(at..at, format!(".by_ref().take({limit})")));
        }
        let name = ident_of(&m.receiver)?;
        if !declared_mut(cx, &name) {
            return None;
        }
        Some(fix.edit(
            cx.range(&m.receiver),
            format!("(&mut {name}).take({limit})"),
        ))
    }

    /// Whether `e` is a value made by a client crate (`reqwest::Client::new()`, a binding or field of a
    /// `reqwest` type, a chain of builder calls on one).
    fn made_by_client_crate(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let in_crate = |p: &str| {
            self.client_crates.iter().any(|c| {
                p.strip_prefix(c.as_str())
                    .is_some_and(|r| r.starts_with("::"))
            })
        };
        let typed = |ty: &syn::Type| type_in(cx, ty, &in_crate);
        let e = peel(e);
        match e {
            Expr::Call(_) => cx.callee(e).is_some_and(|p| in_crate(&p)),
            // A receiver is a smaller expression: only `let`s spend depth.
            Expr::MethodCall(m) => self.made_by_client_crate(cx, &m.receiver, depth),
            Expr::Field(_) => super::syntax::self_field(e)
                .and_then(|f| cx.self_field_type(&f))
                .is_some_and(typed),
            _ => cx.local_is(e, typed, |i| self.made_by_client_crate(cx, i, depth + 1)),
        }
    }

    /// A `Result`/`Option` adapter that passes the value through: `.map_err(..)`, `.ok()`,
    /// `.context(..)`.
    fn is_adapter(&self, m: &syn::ExprMethodCall) -> bool {
        self.result_adapters.iter().any(|a| m.method == a)
    }

    /// The body that `e` gathered whole: `body.collect().await?`, `BodyExt::collect(body).await`,
    /// through `Result` adapters (`.map_err(..)?`) after the await.
    fn collected_body<'e>(&self, cx: &Context<'_>, e: &'e Expr) -> Option<&'e Expr> {
        let mut e = e;
        let mut awaited = false;
        loop {
            e = match e {
                Expr::Paren(p) => &p.expr,
                Expr::Group(g) => &g.expr,
                Expr::Try(t) => &t.expr,
                Expr::Await(a) => {
                    awaited = true;
                    &a.base
                }
                Expr::MethodCall(m) if m.method == "collect" && m.args.is_empty() => {
                    return awaited.then_some(&*m.receiver);
                }
                Expr::MethodCall(m)
                    if !awaited
                        && (self.is_adapter(m)
                            || matches!(m.method.to_string().as_str(), "unwrap" | "expect")) =>
                {
                    &m.receiver
                }
                Expr::Call(c) if c.args.len() == 1 => {
                    let collects = cx.callee(e).is_some_and(|p| self.collect_fns.contains(&p));
                    return (awaited && collects).then(|| &c.args[0]);
                }
                _ => return None,
            };
        }
    }

    /// The receiver of `.to_bytes()`: the collected body it reads, directly, through a `let`, or
    /// as the parameter of a closure passed to `.map(..)` / `.and_then(..)` on the collected result.
    fn collected_receiver<'ast>(&self, cx: &Context<'ast>, recv: &'ast Expr) -> Option<&'ast Expr> {
        if let Some(body) = self.collected_body(cx, recv) {
            return Some(body);
        }
        let name = ident_of(peel(recv))?;
        if let Some(b) = cx.binding(&name) {
            return b.init.and_then(|i| self.collected_body(cx, i));
        }
        // `collect().await.map(|c| c.to_bytes())`: the closure's parameter is the collected body.
        let mut ancestors = cx.ancestors();
        let closure = ancestors.find_map(|a| match a {
            Expr::Closure(c) => Some(c),
            _ => None,
        })?;
        let binds = closure.inputs.len() == 1
            && matches!(super::syntax::strip_pat_type(&closure.inputs[0]), Pat::Ident(p) if p.ident == name);
        match ancestors.next()? {
            Expr::MethodCall(m)
                if binds
                    && matches!(m.method.to_string().as_str(), "map" | "and_then" | "map_ok")
                    && m.args.iter().any(
                        |a| matches!(peel(a), Expr::Closure(c) if std::ptr::eq(c, closure)),
                    ) =>
            {
                self.collected_body(cx, &m.receiver)
            }
            _ => None,
        }
    }

    /// Whether `e` reads a response's byte stream: `StreamReader::new(resp.bytes_stream())`, through
    /// stream adapters (`.map_err(..)`) and `let`s.
    fn reads_response_stream(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        match e {
            Expr::Call(c) => {
                let wraps = cx.callee(e).is_some_and(|p| {
                    self.stream_readers.contains(&p) || p.ends_with("::BufReader::new")
                });
                wraps
                    && c.args
                        .first()
                        .is_some_and(|a| self.reads_response_stream(cx, a, depth + 1))
            }
            Expr::MethodCall(m) if self.byte_streams.iter().any(|b| m.method == b) => {
                self.is_response(cx, &m.receiver, depth)
            }
            // Stream adapters keep the bytes: `.map_err(io::Error::other)`, `.map(..)`, `.map_ok(..)`.
            Expr::MethodCall(m)
                if self.is_adapter(m)
                    || matches!(
                        m.method.to_string().as_str(),
                        "map" | "map_ok" | "into_async_read" | "compat"
                    ) =>
            {
                self.reads_response_stream(cx, &m.receiver, depth)
            }
            _ => cx.local_is(
                e,
                |_| false,
                |i| self.reads_response_stream(cx, i, depth + 1),
            ),
        }
    }

    /// Whether `e` is an HTTP client's response: `client.get(u).send().await?`, `reqwest::get(u)`,
    /// a binding of one, or a value typed as one.
    fn is_response(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        match e {
            Expr::MethodCall(m) if m.method == "send" && m.args.is_empty() => {
                self.made_by_client_crate(cx, &m.receiver, depth)
            }
            // `client.execute(request)`: a request built first, sent by the client itself.
            Expr::MethodCall(m)
                if m.args.len() == 1 && self.client_executes.iter().any(|x| m.method == x) =>
            {
                self.made_by_client_crate(cx, &m.receiver, depth)
            }
            Expr::MethodCall(m)
                if self.response_passthrough.iter().any(|p| m.method == p)
                    || self.is_adapter(m) =>
            {
                self.is_response(cx, &m.receiver, depth)
            }
            Expr::Call(_) => cx.callee(e).is_some_and(|p| self.response_fns.contains(&p)),
            _ => {
                let Some(name) = ident_of(e) else {
                    return false;
                };
                let Some(b) = cx.binding(&name).copied() else {
                    // `if let Ok(resp) = ..`, a `match` arm `Ok(resp) =>`.
                    let Some(body) = cx.current_fn().map(|f| f.body) else {
                        return false;
                    };
                    return super::syntax::pattern_scrutinees(body, &name)
                        .into_iter()
                        .any(|s| self.is_response(cx, s, depth + 1));
                };
                let typed = b.ty.is_some_and(|t| {
                    cx.type_path(t)
                        .is_some_and(|p| self.response_types.contains(&p))
                });
                typed
                    || b.init.is_some_and(|init| {
                        if chain_root_ident(init).as_deref() == Some(name.as_str()) {
                            self.shadowed_response(cx, &name, init, depth)
                        } else {
                            self.is_response(cx, init, depth + 1)
                        }
                    })
            }
        }
    }

    /// `let resp = resp.error_for_status()?;`: the new binding is a response when it only passes
    /// the earlier `resp` through and that one was a response.
    fn shadowed_response(&self, cx: &Context<'_>, name: &str, init: &Expr, depth: usize) -> bool {
        let mut e = peel(init);
        while let Expr::MethodCall(m) = e {
            if !self.response_passthrough.iter().any(|p| m.method == p) && !self.is_adapter(m) {
                return false;
            }
            e = peel(&m.receiver);
        }
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return false;
        };
        super::syntax::binding_inits(body, name)
            .into_iter()
            .rev()
            .find(|i| chain_root_ident(i).as_deref() != Some(name))
            .is_some_and(|i| self.is_response(cx, i, depth + 1))
    }

    /// A `content_length()` guard on the response named `name` in `body`: `Some(true)` when it rejects
    /// an unknown length too, `Some(false)` when it lets `None` through, `None` when there is none.
    fn length_guard(
        body: &syn::Block,
        name: &str,
        before: usize,
    ) -> Option<(bool, std::ops::Range<usize>)> {
        struct Guard<'n> {
            name: &'n str,
            before: usize,
            found: Option<(bool, std::ops::Range<usize>)>,
        }
        fn is_length_call(e: &Expr, name: &str) -> bool {
            matches!(e, Expr::MethodCall(m) if m.method == "content_length" && chain_root_ident(&m.receiver).as_deref() == Some(name))
        }
        impl<'ast> Visit<'ast> for Guard<'_> {
            fn visit_expr(&mut self, e: &'ast Expr) {
                use syn::spanned::Spanned;
                // A check after the read runs with the whole body already in memory.
                if e.span().byte_range().start >= self.before {
                    return;
                }
                let strict = match e {
                    // `len.unwrap_or(u64::MAX)`, `.ok_or(..)?`, `.is_none()`, `.map_or(true, ..)`, `unwrap`.
                    Expr::MethodCall(m) if is_length_call(&m.receiver, self.name) => {
                        Some(matches!(
                            m.method.to_string().as_str(),
                            "unwrap_or"
                                | "ok_or"
                                | "ok_or_else"
                                | "is_none"
                                | "is_none_or"
                                | "map_or"
                                | "map_or_else"
                                | "unwrap"
                                | "expect"
                                | "is_some_and"
                        ))
                    }
                    // A `match` with a `None` arm.
                    Expr::Match(mt) if is_length_call(&mt.expr, self.name) => {
                        Some(mt.arms.iter().any(|a| {
                            matches!(&a.pat, Pat::Ident(p) if p.ident == "None")
                                || matches!(&a.pat, Pat::Wild(_))
                        }))
                    }
                    // Any other use (`if let Some(n) = ..`) lets an unknown length through.
                    _ if is_length_call(e, self.name) => Some(false),
                    _ => None,
                };
                if let Some(strict) = strict {
                    let better = self.found.as_ref().is_none_or(|(s, _)| !s && strict);
                    if better {
                        self.found = Some((strict, e.span().byte_range()));
                    }
                    if strict {
                        return;
                    }
                }
                visit::visit_expr(self, e);
            }
            fn visit_local(&mut self, l: &'ast syn::Local) {
                // `let Some(len) = resp.content_length() else { return .. };`
                if let Some(init) = &l.init {
                    if init.diverge.is_some() && is_length_call(peel(&init.expr), self.name) {
                        use syn::spanned::Spanned;
                        self.found = Some((true, init.expr.span().byte_range()));
                        return;
                    }
                }
                visit::visit_local(self, l);
            }
            fn visit_item(&mut self, _: &'ast syn::Item) {}
        }
        let mut guard = Guard {
            name,
            before,
            found: None,
        };
        guard.visit_block(body);
        guard.found
    }

    fn check_response_read<'ast>(
        &self,
        cx: &mut Context<'ast>,
        read: &'ast Expr,
        m: &syn::ExprMethodCall,
    ) {
        if !self.is_response(cx, &m.receiver, 0) {
            return;
        }
        if in_error_branch(cx, cx.range(m).start) {
            return;
        }
        let method = m.method.to_string();
        let root = chain_root_ident(&m.receiver);
        let guard = match (cx.current_fn(), &root) {
            (Some(f), Some(name)) => {
                let read_at = cx.range(m).start;
                Self::length_guard(f.body, name, read_at)
                    .filter(|(_, r)| !guard_compared_late(f.body, r, read_at))
            }
            _ => None,
        };
        let mut labels = Vec::new();
        match guard {
            Some((true, _)) => return,
            Some((false, range)) => labels.push((
                range,
                "this size check lets `None` through: chunked and decompressed bodies have no length".to_owned(),
            )),
            None => {}
        }
        // `json::<T>()` decodes as it reads; the other readers' bytes (and a `json::<Value>()`
        // document) are followed to their use.
        let destination = if self.decode_methods_of_response.contains(&method)
            && !self.untyped_document(cx, m.turbofish.as_ref())
        {
            Destination::Decoded
        } else {
            self.destination(cx, read)
        };
        let what =
            format!("`.{method}()` reads the whole response body into memory with no size limit");
        let help = "stream it (`resp.bytes_stream()`, forward with `Body::wrap_stream`, or `resp.chunk().await` in a loop that counts bytes), or reject bodies over a limit, treating an unknown `content_length()` as too large";
        let finding = RawFinding {
            labels,
            ..outbound_finding(cx.method_call_range(m), what, help)
        };
        self.report_outbound(cx, finding, destination);
    }

    fn check_read_to_end<'ast>(&self, cx: &mut Context<'ast>, m: &syn::ExprMethodCall) {
        let reader = &m.receiver;
        let what = if self.sockets.is_network(cx, reader) {
            "a network stream"
        } else if self.is_response(cx, reader, 0) {
            "a response body"
        } else if self.reads_response_stream(cx, reader, 0) {
            "a response's byte stream"
        } else {
            return;
        };
        let method = m.method.to_string();
        let fix = (what == "a network stream")
            .then(|| self.take_fix(cx, m))
            .flatten();
        cx.report(RawFinding {
            rule: ID,
            range: cx.method_call_range(m),
            message: format!("`.{method}()` on {what} reads until the peer closes it, with no size limit: one peer that keeps sending fills memory"),
            help: "put a limit on the reader first (`reader.take(MAX)`, then check whether the limit was hit), or stream it (`tokio::io::copy`, `ReaderStream`)".to_owned(),
            labels: Vec::new(),
            fix,
        });
    }

    /// The compressed input of the decoder that `e` reads from (`GzDecoder::new(input)`, through
    /// `BufReader::new(..)`, `&mut`, `let`s), or `None` when `e` is no decoder or a `.take(n)` caps
    /// what is read from it.
    fn decoder_input<'e>(&self, cx: &Context<'e>, e: &'e Expr, depth: usize) -> Option<&'e Expr> {
        if depth > MAX_DEPTH {
            return None;
        }
        let e = peel(e);
        match e {
            Expr::Call(c) => {
                let path = cx.callee(e)?;
                let input = c.args.first()?;
                if self.decoders.contains(&path) {
                    Some(input)
                } else if path.ends_with("::BufReader::new") {
                    self.decoder_input(cx, input, depth + 1)
                } else {
                    None
                }
            }
            Expr::MethodCall(m) if m.method == "by_ref" => {
                self.decoder_input(cx, &m.receiver, depth)
            }
            _ => {
                let name = ident_of(e)?;
                let init = cx.binding(&name)?.init?;
                self.decoder_input(cx, init, depth + 1)
            }
        }
    }

    /// Whether `e` holds a request or response body, compressed as it came off the network: a
    /// socket, a response or its byte stream, a body read whole (`resp.bytes().await?`,
    /// `collect().await?.to_bytes()`, `axum::body::to_bytes(body, n)`), a value of a body type (an
    /// extracted `Bytes`), or a view of one (`&body[..]`, `body.reader()`, `Cursor::new(body)`).
    fn is_network_body(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        if self.sockets.is_network(cx, e)
            || self.is_response(cx, e, depth)
            || self.reads_response_stream(cx, e, depth)
        {
            return true;
        }
        match e {
            Expr::Index(i) => self.is_network_body(cx, &i.expr, depth),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                self.is_network_body(cx, &u.expr, depth)
            }
            Expr::MethodCall(m)
                if self.is_adapter(m) || self.body_views.iter().any(|v| m.method == v) =>
            {
                self.is_network_body(cx, &m.receiver, depth)
            }
            Expr::MethodCall(m)
                if m.args.is_empty() && self.response_reads.iter().any(|r| m.method == r) =>
            {
                self.is_response(cx, &m.receiver, depth)
            }
            Expr::MethodCall(m)
                if m.args.is_empty() && (m.method == "to_bytes" || m.method == "aggregate") =>
            {
                self.collected_receiver(cx, &m.receiver).is_some()
            }
            Expr::Call(c) => {
                let Some(path) = cx.callee(e) else {
                    return false;
                };
                let reads_whole =
                    self.body_reads.contains(&path) || self.limit_fns.contains_key(&path);
                let wraps = path.ends_with("::Cursor::new") || path.ends_with("::BufReader::new");
                reads_whole
                    || (wraps
                        && c.args
                            .first()
                            .is_some_and(|a| self.is_network_body(cx, a, depth + 1)))
            }
            _ => cx.local_is(
                e,
                |t| {
                    cx.type_path(t)
                        .is_some_and(|p| self.body_types.contains(&p))
                },
                |i| self.is_network_body(cx, i, depth + 1),
            ),
        }
    }

    /// `decoder.read_to_end(&mut out)`, `zstd::decode_all(input)` and the like over a network
    /// body: the output has no limit even when the compressed input has one.
    fn check_decompression<'ast>(
        &self,
        cx: &mut Context<'ast>,
        input: &'ast Expr,
        at: std::ops::Range<usize>,
        what: &str,
    ) {
        if !self.is_network_body(cx, input, 0) {
            return;
        }
        cx.report_range(
            ID,
            at,
            format!("{what} decompresses a network body with no limit on the output: a few KiB of compressed zeros expand to gigabytes in memory, whatever limit the compressed body has"),
            "cap the decompressed size: read from `decoder.take(MAX + 1)` and reject the body when it reaches `MAX`, or use an API that takes the maximum (`zstd::bulk::decompress(data, MAX)`)",
        );
    }

    /// Whether `e` is (a local made by) an in-memory buffer that grows as it is written to:
    /// `Vec::new()`, `vec![]`, `BytesMut::with_capacity(n)`.
    fn is_growable_buffer(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        match e {
            Expr::Call(_) => cx
                .callee(e)
                .is_some_and(|p| self.growable_buffers.contains(&p)),
            Expr::Macro(m) => m.mac.path.is_ident("vec"),
            _ => cx.local_is(e, |_| false, |i| self.is_growable_buffer(cx, i, depth + 1)),
        }
    }

    /// `decoder.write_all(&body)` on a write-side decoder into a growing buffer
    /// (`flate2::write::GzDecoder::new(Vec::new())`): the whole output lands in memory.
    fn check_decoder_write<'ast>(&self, cx: &mut Context<'ast>, m: &'ast syn::ExprMethodCall) {
        let Some(name) = ident_of(peel(&m.receiver)) else {
            return;
        };
        let Some(init) = cx.binding(&name).and_then(|b| b.init).map(peel) else {
            return;
        };
        let Expr::Call(ctor) = init else { return };
        let into_memory = cx
            .callee(init)
            .is_some_and(|p| self.writing_decoders.contains(&p))
            && ctor
                .args
                .first()
                .is_some_and(|sink| self.is_growable_buffer(cx, sink, 0));
        if into_memory {
            let at = cx.method_call_range(m);
            self.check_decompression(cx, &m.args[0], at, "a decoder writing into a `Vec`");
        }
    }

    /// `std::io::copy(&mut decoder, &mut out)` from a decoder over a network body into a growing
    /// buffer.
    fn check_decoder_copy<'ast>(
        &self,
        cx: &mut Context<'ast>,
        expr: &'ast Expr,
        c: &'ast syn::ExprCall,
    ) {
        let [reader, writer] = [&c.args[0], &c.args[1]];
        let Some(input) = self.decoder_input(cx, reader, 0) else {
            return;
        };
        if self.is_growable_buffer(cx, writer, 0) {
            let at = cx.range(expr);
            self.check_decompression(cx, input, at, "copying a decoder into a `Vec`");
        }
    }

    /// `collect().await` on a body that no `Limited` wraps, then `.to_bytes()` / `.aggregate()`.
    fn check_collected<'ast>(
        &self,
        cx: &mut Context<'ast>,
        read: &'ast Expr,
        m: &'ast syn::ExprMethodCall,
    ) {
        let Some(body) = self.collected_receiver(cx, &m.receiver) else {
            return;
        };
        if self.is_limited(cx, body, 0) || in_error_branch(cx, cx.range(m).start) {
            return;
        }
        let method = m.method.to_string();
        if self.is_outbound_body(cx, body, 0) {
            let what = format!("`collect().await?.{method}()` gathers the whole response body in memory with no size limit");
            let destination = self.destination(cx, read);
            let finding = outbound_finding(cx.method_call_range(m), what, COLLECTED_HELP);
            self.report_outbound(cx, finding, destination);
            return;
        }
        cx.report_method(
            ID,
            m,
            format!("`collect().await?.{method}()` gathers the whole body in memory with no size limit: a peer can send a body of any size"),
            COLLECTED_HELP,
        );
    }

    /// A body of an outbound response read whole (`finding.message` says what reads it): quiet
    /// when its bytes are decoded into a typed value (the size of a reply from the upstream the
    /// program called), high with the site labelled when they are handed on whole, medium when
    /// the function shows neither.
    fn report_outbound(
        &self,
        cx: &mut Context<'_>,
        mut finding: RawFinding,
        destination: Destination,
    ) {
        match destination {
            Destination::Decoded => {}
            Destination::Forwarded(at, label) => {
                finding.labels.push((at, label));
                finding.message = format!("{} before forwarding it: a large or endless upstream body is buffered in full on its way through, once for every request in flight", finding.message);
                cx.report(finding);
            }
            Destination::Unseen => {
                finding.message = format!(
                    "{}: a large or endless upstream body is buffered in full",
                    finding.message
                );
                cx.report_medium(finding, "the peer is the upstream this program called, and this function neither decodes the body into a typed value nor visibly forwards it: a risk when that upstream can answer with a body of any size");
            }
        }
    }

    fn is_limited(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        match e {
            Expr::Call(_) => cx
                .callee(e)
                .is_some_and(|p| self.limited_bodies.contains(&p)),
            Expr::MethodCall(m) => {
                m.method == "limited" || self.is_limited(cx, &m.receiver, depth + 1)
            }
            _ => cx.local_is(e, |_| false, |i| self.is_limited(cx, i, depth + 1)),
        }
    }

    fn check_call<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr, c: &'ast syn::ExprCall) {
        let Some(path) = cx.callee(expr) else { return };
        if self.body_reads.contains(&path) {
            if size_hint_checked(cx) {
                return;
            }
            let name = short(&path);
            let help = "check `body.size_hint().upper()` against a limit first (rejecting `None`), or stream the body";
            if c.args
                .first()
                .is_some_and(|b| self.is_outbound_body(cx, b, 0))
            {
                let what = format!(
                    "`{name}` reads the whole response body into memory with no size limit"
                );
                let destination = self.destination(cx, expr);
                let finding = outbound_finding(cx.range(expr), what, help);
                self.report_outbound(cx, finding, destination);
                return;
            }
            cx.report_at(ID, expr, format!("`{name}` reads the whole body into memory with no size limit: a peer can send a body of any size, and Content-Length is not required"), help);
        } else if let Some(Some(arg)) = self.limit_fns.get(&path) {
            // `axum::body::to_bytes(body, usize::MAX)`: the limit argument is unlimited in practice.
            let Ok(index) = arg.trim().parse::<usize>() else {
                return;
            };
            let unlimited = c
                .args
                .iter()
                .nth(index)
                .and_then(|a| const_value(cx, a))
                .is_some_and(|v| v >= USIZE_MAX);
            if unlimited {
                let name = short(&path);
                let limit = &self.max_message_size;
                let fix = c.args.iter().nth(index).map(|a| {
                    RawFix::new(
                        Applicability::Safe,
                        format!("limit the body to {limit} bytes"),
                    )
                    .edit(cx.range(a), limit.clone())
                });
                let help = "pass a finite limit (the largest body this endpoint accepts)";
                if c.args
                    .first()
                    .is_some_and(|b| self.is_outbound_body(cx, b, 0))
                {
                    let what = format!("`{name}` with a limit of `usize::MAX` reads the whole response body with no size limit");
                    let destination = self.destination(cx, expr);
                    let finding = RawFinding {
                        fix,
                        ..outbound_finding(cx.range(expr), what, help)
                    };
                    self.report_outbound(cx, finding, destination);
                    return;
                }
                cx.report(RawFinding {
                    rule: ID,
                    range: cx.range(expr),
                    message: format!("`{name}` with a limit of `usize::MAX` reads the whole body with no size limit"),
                    help: help.to_owned(),
                    labels: Vec::new(),
                    fix,
                });
            }
        } else if self.limit_disablers.contains(&path) {
            if self.file_has_limit_layer(cx) || self.overridden_inside(cx, expr) {
                return;
            }
            cx.report_at(ID, expr, "`DefaultBodyLimit::disable()` removes the 2 MiB cap on every body extractor behind it, and no `RequestBodyLimitLayer` in this file replaces it".to_owned(), "set a finite cap instead: `DefaultBodyLimit::max(n)`, or add `tower_http::limit::RequestBodyLimitLayer::new(n)`");
        } else if self.warp_filters.contains(&path) {
            if self.fn_mentions(cx, "content_length_limit") {
                return;
            }
            let name = short(&path);
            cx.report_at(ID, expr, format!("`{name}` buffers the whole request body and warp has no default size limit: no `content_length_limit` guards this filter"), "add `warp::body::content_length_limit(MAX).and(..)` before the body filter");
        } else if self.limit_config_types.contains(&path) && path.ends_with("::new") {
            // `PayloadConfig::new(usize::MAX)`
            if c.args
                .first()
                .and_then(|a| const_value(cx, a))
                .is_some_and(|v| v >= USIZE_MAX)
            {
                cx.report_at(
                    ID,
                    expr,
                    "a payload limit of `usize::MAX` reads request bodies of any size into memory"
                        .to_owned(),
                    "set the largest body this endpoint accepts",
                );
            }
        }
    }

    /// `.max_decoding_message_size(usize::MAX)`, `JsonConfig::default().limit(usize::MAX)`.
    fn check_limit_method<'ast>(&self, cx: &mut Context<'ast>, m: &syn::ExprMethodCall) {
        let Some(value) = m.args.first().and_then(|a| const_value(cx, a)) else {
            return;
        };
        if value < USIZE_MAX {
            return;
        }
        let method = m.method.to_string();
        if self.config_limit_methods.contains(&method)
            && !self.chain_starts_at_config(cx, &m.receiver)
        {
            return;
        }
        // A generated client decodes replies of the server it connects to, which the program chose.
        if self.message_limit_methods.contains(&method) && self.on_generated_client(cx, &m.receiver)
        {
            return;
        }
        let limit = &self.max_message_size;
        let fix = m.args.first().map(|a| {
            RawFix::new(
                Applicability::Safe,
                format!("limit messages to {limit} bytes"),
            )
            .edit(cx.range(a), limit.clone())
        });
        cx.report(RawFinding {
            rule: ID,
            range: cx.method_call_range(m),
            message: format!("`.{method}(usize::MAX)` lifts the message size limit: one peer can make this process buffer a message of any size"),
            help: "keep a finite limit (the largest message this endpoint accepts)".to_owned(),
            labels: Vec::new(),
            fix,
        });
    }

    fn chain_starts_at_config(&self, cx: &Context<'_>, e: &Expr) -> bool {
        let mut e = e;
        loop {
            e = match e {
                Expr::MethodCall(m) => &m.receiver,
                Expr::Paren(p) => &p.expr,
                Expr::Call(_) => {
                    return cx.callee(e).is_some_and(|p| {
                        self.limit_config_types.iter().any(|t| {
                            p.starts_with(t.rsplit_once("::").map_or(t.as_str(), |(ty, _)| ty))
                        })
                    })
                }
                _ => return false,
            };
        }
    }

    fn file_has_limit_layer(&self, cx: &mut Context<'_>) -> bool {
        let layers = &self.limit_layers;
        *cx.cached(ID, |cx| {
            let mut found = false;
            let mut check = |e: &Expr| {
                if let Expr::Call(_) = e {
                    found |= cx.callee(e).is_some_and(|p| layers.contains(&p));
                }
            };
            for (_, body) in super::syntax::fn_bodies(&cx.file.items) {
                for_each_expr_in_block(body, false, &mut check);
            }
            found
        })
    }

    /// Whether a `DefaultBodyLimit::max(n)` sets the cap again on the routes that `disable` (the
    /// argument of a `.layer(..)`) applies to. The layer nearest the handler wins, so only a
    /// `max(n)` layered earlier on the same chain does; one on another route (inside a `.route(..)`
    /// argument) or layered outside this one leaves these routes without a cap.
    fn overridden_inside(&self, cx: &Context<'_>, disable: &Expr) -> bool {
        let mut ancestors = cx.ancestors();
        let Some(Expr::MethodCall(layer)) = ancestors.next() else {
            return false;
        };
        if !layer.args.iter().any(|a| std::ptr::eq(peel(a), disable)) {
            return false;
        }
        let mut spine = peel(&layer.receiver);
        while let Expr::MethodCall(m) = spine {
            let layers = matches!(m.method.to_string().as_str(), "layer" | "route_layer");
            if layers
                && m.args.iter().any(|a| {
                    cx.callee(peel(a))
                        .is_some_and(|p| self.limit_overrides.contains(&p))
                })
            {
                return true;
            }
            spine = peel(&m.receiver);
        }
        false
    }

    fn fn_mentions(&self, cx: &Context<'_>, name: &str) -> bool {
        let Some(f) = cx.current_fn() else {
            return false;
        };
        let mut found = false;
        for_each_expr_in_block(f.body, false, &mut |e| {
            let named = match e {
                Expr::MethodCall(m) => m.method == name,
                Expr::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
                _ => false,
            };
            found |= named;
        });
        found
    }
}

/// A guard bound by a `let` (`let n = resp.content_length().unwrap_or(u64::MAX);`) limits
/// nothing unless `n` is used before the read at `read_at`: a comparison after it runs with the
/// whole body in memory.
fn guard_compared_late(body: &syn::Block, guard: &std::ops::Range<usize>, read_at: usize) -> bool {
    use syn::spanned::Spanned;
    let mut name = None;
    let mut find = |l: &syn::Local| {
        if let (Pat::Ident(p), Some(init)) = (super::syntax::strip_pat_type(&l.pat), &l.init) {
            let r = init.expr.span().byte_range();
            if r.start <= guard.start && guard.end <= r.end {
                name = Some(p.ident.to_string());
            }
        }
    };
    struct Locals<'f>(&'f mut dyn FnMut(&syn::Local));
    impl<'ast> Visit<'ast> for Locals<'_> {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            (self.0)(l);
            visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    Locals(&mut find).visit_block(body);
    let Some(name) = name else { return false };
    let mut used_before = false;
    for_each_expr_in_block(body, false, &mut |e| {
        if ident_of(e).as_deref() == Some(name.as_str()) {
            let at = e.span().byte_range().start;
            used_before |= guard.end <= at && at < read_at;
        }
    });
    !used_before
}

/// Whether the expression being checked sits in the branch of an `if` that handles a failed status
/// (`if !status.is_success() { .. }`, `if resp.status() != StatusCode::OK { .. }`, the `else` of a
/// success check), or in an arm of a `match` on the status other than its success arm: an error
/// body read for the message of the error returned there.
fn in_error_branch(cx: &Context<'_>, at: usize) -> bool {
    use syn::spanned::Spanned;
    /// `Some(true)` for a success test, `Some(false)` for a failure test, `None` for neither.
    fn success_test(e: &Expr) -> Option<bool> {
        match e {
            Expr::Paren(p) => success_test(&p.expr),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => {
                success_test(&u.expr).map(|s| !s)
            }
            Expr::MethodCall(m) => match m.method.to_string().as_str() {
                "is_success" => Some(true),
                "is_client_error" | "is_server_error" => Some(false),
                _ => None,
            },
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) => {
                let is_status = |e: &Expr| {
                    matches!(peel(e), Expr::MethodCall(m) if m.method == "status")
                        || ident_of(e).is_some_and(|n| n == "status")
                };
                (is_status(&b.left) || is_status(&b.right))
                    .then_some(matches!(b.op, syn::BinOp::Eq(_)))
            }
            _ => None,
        }
    }
    fn is_status(e: &Expr) -> bool {
        match peel(e) {
            Expr::MethodCall(m) => m.method == "status",
            Expr::Field(f) => matches!(&f.member, syn::Member::Named(n) if n == "status"),
            e => ident_of(e).is_some_and(|n| n == "status" || n == "status_code"),
        }
    }
    /// An arm that matches a success status: `StatusCode::OK`, `200`, `s if s.is_success()`.
    fn success_arm(arm: &syn::Arm) -> bool {
        fn success_pat(p: &Pat) -> bool {
            match p {
                Pat::Path(p) => p.path.segments.last().is_some_and(|s| {
                    matches!(
                        s.ident.to_string().as_str(),
                        "OK" | "CREATED" | "ACCEPTED" | "NO_CONTENT" | "PARTIAL_CONTENT"
                    )
                }),
                Pat::Lit(l) => {
                    matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits().starts_with('2') && i.base10_digits().len() == 3)
                }
                Pat::Or(o) => o.cases.iter().any(success_pat),
                Pat::Guard(g) => success_pat(&g.pat) || success_test(&g.guard) == Some(true),
                _ => false,
            }
        }
        success_pat(&arm.pat)
    }
    cx.ancestors().any(|a| {
        // `match resp.status() { StatusCode::OK => .., _ => read }`: a read in an arm that is not
        // the success one, when another arm is, handles a failed status.
        if let Expr::Match(m) = a {
            if !is_status(&m.expr) || !m.arms.iter().any(success_arm) {
                return false;
            }
            return m
                .arms
                .iter()
                .any(|arm| arm.body.span().byte_range().contains(&at) && !success_arm(arm));
        }
        let Expr::If(i) = a else { return false };
        let Some(success) = success_test(&i.cond) else {
            return false;
        };
        let in_then = i.then_branch.span().byte_range().contains(&at);
        let in_else = i
            .else_branch
            .as_ref()
            .is_some_and(|(_, e)| e.span().byte_range().contains(&at));
        (in_then && !success) || (in_else && success)
    })
}

/// A type whose path (or the path inside `Arc<..>`, `&..`) satisfies `pred`.
fn type_in(cx: &Context<'_>, ty: &syn::Type, pred: &dyn Fn(&str) -> bool) -> bool {
    let Some(path) = cx.type_path(ty) else {
        return false;
    };
    if pred(&path) {
        return true;
    }
    matches!(
        path.as_str(),
        "std::sync::Arc" | "std::rc::Rc" | "std::boxed::Box"
    ) && super::syntax::type_args(ty).any(|t| type_in(cx, t, pred))
}

/// Whether the current function checks a body's `size_hint()` (hyper 0.14's recommended guard).
fn size_hint_checked(cx: &Context<'_>) -> bool {
    let Some(f) = cx.current_fn() else {
        return false;
    };
    let mut found = false;
    for_each_expr_in_block(f.body, false, &mut |e| {
        found |= matches!(e, Expr::MethodCall(m) if m.method == "size_hint");
    });
    found
}

const COLLECTED_HELP: &str = "wrap the body first: `http_body_util::Limited::new(body, MAX).collect().await?` (it fails with `LengthLimitError`), or stream its frames";

/// `hyper::body::to_bytes` → `body::to_bytes`.
fn short(path: &str) -> String {
    let segs: Vec<&str> = path.split("::").collect();
    segs[segs.len().saturating_sub(2)..].join("::")
}

impl Rule for WholeBodyRead {
    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        match expr {
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                let arity_ok = m.args.len() == usize::from(method == "text_with_charset");
                if arity_ok && self.response_reads.contains(&method) {
                    self.check_response_read(cx, expr, m);
                } else if m.args.len() == 1
                    && self.read_methods.contains(&method)
                    // std, tokio and futures read into `&mut buf`; quinn's `read_to_end(limit)` is bounded.
                    && matches!(&m.args[0], Expr::Reference(r) if r.mutability.is_some())
                {
                    if let Some(input) = self.decoder_input(cx, &m.receiver, 0) {
                        let at = cx.method_call_range(m);
                        self.check_decompression(
                            cx,
                            input,
                            at,
                            &format!("`.{method}()` on a decoder"),
                        );
                    } else {
                        self.check_read_to_end(cx, m);
                    }
                } else if m.args.is_empty() && (method == "to_bytes" || method == "aggregate") {
                    self.check_collected(cx, expr, m);
                } else if m.args.len() == 1 && method == "write_all" {
                    self.check_decoder_write(cx, m);
                } else if m.args.len() == 1
                    && (self.message_limit_methods.contains(&method)
                        || self.config_limit_methods.contains(&method))
                {
                    self.check_limit_method(cx, m);
                }
            }
            Expr::Call(c) => {
                let decodes_all = c.args.len() == 1
                    && cx
                        .callee(expr)
                        .is_some_and(|p| self.decode_all_fns.contains(&p));
                let copies = c.args.len() == 2
                    && cx.callee(expr).is_some_and(|p| self.copy_fns.contains(&p));
                if decodes_all {
                    let at = cx.range(expr);
                    self.check_decompression(cx, &c.args[0], at, "`decode_all`");
                } else if copies {
                    self.check_decoder_copy(cx, expr, c);
                } else {
                    self.check_call(cx, expr, c);
                }
            }
            _ => {}
        }
    }
}

/// Whether every binding of `name` in the current function (parameters and patterns) is declared
/// `mut` by value, and there is one.
fn declared_mut(cx: &Context<'_>, name: &str) -> bool {
    struct Idents<'n> {
        name: &'n str,
        all_mut: bool,
        found: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Idents<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            if p.ident == self.name {
                self.found = true;
                self.all_mut &= p.mutability.is_some() && p.by_ref.is_none();
            }
            syn::visit::visit_pat_ident(self, p);
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let Some(frame) = cx.current_fn() else {
        return false;
    };
    let mut idents = Idents {
        name,
        all_mut: true,
        found: false,
    };
    syn::visit::Visit::visit_signature(&mut idents, frame.sig);
    syn::visit::Visit::visit_block(&mut idents, frame.body);
    idents.found && idents.all_mut
}

/// A finding on an outbound body read whole, before [`WholeBodyRead::report_outbound`] judges it
/// by where the bytes go.
fn outbound_finding(range: std::ops::Range<usize>, message: String, help: &str) -> RawFinding {
    RawFinding {
        rule: ID,
        range,
        message,
        help: help.to_owned(),
        labels: Vec::new(),
        fix: None,
    }
}
