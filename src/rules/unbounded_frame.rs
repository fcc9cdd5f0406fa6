//! `unbounded-frame`: decoders and line readers with no maximum frame or line length on network
//! input.
use std::collections::HashSet;

use syn::{Expr, Member};

use super::network::{PeerSource, Sockets};
use super::syntax::{
    const_value, for_each_expr_in_block, ident_of, is_none, peel, strip_pat_type, USIZE_MAX,
};
use super::{api_map, name_list, rust_integer, ApiExtensions, RuleOptions};
use crate::catalogue::RuleDoc;
use crate::engine::summary::{AddrShape, Condition};
use crate::engine::{Applicability, Context, RawFinding, RawFix, Rule};

pub const ID: &str = "unbounded-frame";

/// How deep to follow `let` initializers back to a local input.
const MAX_DEPTH: usize = 6;

pub struct UnboundedFrame {
    codecs: HashSet<String>,
    codec_values: HashSet<String>,
    frame_limit_methods: Vec<String>,
    none_limits: Vec<String>,
    ws_configs: HashSet<String>,
    line_readers: Vec<String>,
    local_inputs: HashSet<String>,
    local_input_types: HashSet<String>,
    sockets: Sockets,
    /// The limits the fixes write (the rule's options), as Rust integer literals.
    max_line_length: String,
    max_frame_length: String,
    max_message_size: String,
    max_frame_size: String,
}

impl UnboundedFrame {
    pub fn new(doc: &RuleDoc, options: &RuleOptions, _ext: &ApiExtensions) -> Self {
        let limit = |key: &str| rust_integer(options.int(doc, key));
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        UnboundedFrame {
            codecs: keys("unlimited-codecs"),
            codec_values: keys("unlimited-codec-values"),
            frame_limit_methods: name_list(doc, "frame-limit-methods"),
            none_limits: name_list(doc, "limits-off-when-none"),
            ws_configs: keys("websocket-configs"),
            line_readers: name_list(doc, "line-readers"),
            local_inputs: keys("local-inputs"),
            local_input_types: keys("local-input-types"),
            sockets: Sockets::from_doc(doc),
            max_line_length: limit("max-line-length"),
            max_frame_length: limit("max-frame-length"),
            max_message_size: limit("max-message-size"),
            max_frame_size: limit("max-frame-size"),
        }
    }

    /// Whether `e` is visibly local input: stdin, a file, a child's pipe.
    fn is_local_input(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        match e {
            Expr::Call(c) => {
                cx.callee(e).is_some_and(|p| self.local_inputs.contains(&p))
                    || c.args.iter().any(|a| self.is_local_input(cx, a, depth + 1))
            }
            Expr::MethodCall(m) => self.is_local_input(cx, &m.receiver, depth + 1),
            Expr::Field(f) => {
                matches!(&f.member, Member::Named(n) if n == "stdout" || n == "stderr" || n == "stdin")
            }
            _ => cx.local_is(
                e,
                |t| {
                    cx.type_path(t)
                        .is_some_and(|p| self.local_input_types.contains(&p))
                },
                |i| self.is_local_input(cx, i, depth + 1),
            ),
        }
    }

    /// Whether `e` is visibly a WebSocket config: a struct literal, `WebSocketConfig::default()`, a
    /// builder chain on one, or a binding typed or made as one.
    fn is_ws_config(&self, cx: &Context<'_>, e: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(e);
        match e {
            Expr::Struct(s) => cx
                .resolve(&s.path)
                .is_some_and(|p| self.ws_configs.contains(&p)),
            Expr::Call(_) => cx.callee(e).is_some_and(|p| {
                p.rsplit_once("::")
                    .is_some_and(|(ty, _)| self.ws_configs.contains(ty))
            }),
            Expr::MethodCall(m) => self.is_ws_config(cx, &m.receiver, depth + 1),
            _ => cx.local_is(
                e,
                |t| {
                    cx.type_path(t)
                        .is_some_and(|p| self.ws_configs.contains(&p))
                },
                |i| self.is_ws_config(cx, i, depth + 1),
            ),
        }
    }

    /// Whether the codec made by `ctor` (directly, or through the binding it initializes) is
    /// framed over local input in the current function: `FramedRead::new(stdin(), LinesCodec::new())`.
    fn codec_reads_local_input<'ast>(&self, cx: &Context<'ast>, ctor: &'ast Expr) -> bool {
        let Some(body) = cx.current_fn().map(|f| f.body) else {
            return false;
        };
        let binding = super::syntax::let_binding_of(body, ctor).and_then(|l| match &l.pat {
            syn::Pat::Ident(p) => Some(p.ident.to_string()),
            _ => None,
        });
        let is_codec = |a: &Expr| {
            std::ptr::eq(peel(a), ctor)
                || binding
                    .as_deref()
                    .is_some_and(|b| ident_of(a).as_deref() == Some(b))
        };
        let mut local = false;
        for_each_expr_in_block(body, false, &mut |e| {
            let args: Vec<&Expr> = match e {
                Expr::Call(c) => c.args.iter().collect(),
                Expr::MethodCall(m) => std::iter::once(&*m.receiver).chain(&m.args).collect(),
                _ => return,
            };
            if args.iter().any(|a| is_codec(a)) {
                local |= args
                    .iter()
                    .any(|a| !is_codec(a) && self.is_local_input(cx, a, 0));
            }
        });
        local || self.frames_mapped_local_input(cx, ctor)
    }

    /// `child.stderr.map(|s| FramedRead::new(s, LinesCodec::new()))`: the codec frames a
    /// parameter of the closure around it, and that closure is given to a method of a local
    /// input (an `Option` of a child's pipe), so the parameter is that input.
    fn frames_mapped_local_input<'ast>(&self, cx: &Context<'ast>, ctor: &'ast Expr) -> bool {
        let mut ancestors = cx.ancestors();
        let Some(Expr::Call(framing)) = ancestors.next() else {
            return false;
        };
        let Some(closure) = ancestors.find(|a| matches!(a, Expr::Closure(_))) else {
            return false;
        };
        let (Expr::Closure(c), Some(Expr::MethodCall(mapping))) = (closure, ancestors.next())
        else {
            return false;
        };
        if !mapping.args.iter().any(|a| std::ptr::eq(a, closure)) {
            return false;
        }
        let params: Vec<String> = c
            .inputs
            .iter()
            .filter_map(|p| match strip_pat_type(p) {
                syn::Pat::Ident(i) => Some(i.ident.to_string()),
                _ => None,
            })
            .collect();
        let frames_param = framing.args.iter().any(|a| {
            !std::ptr::eq(peel(a), ctor) && ident_of(a).is_some_and(|n| params.contains(&n))
        });
        frames_param && self.is_local_input(cx, &mapping.receiver, 0)
    }
}

impl UnboundedFrame {
    /// `LinesCodec::new()` → `LinesCodec::new_with_max_length(N)` (also for `::default()`), and
    /// `AnyDelimiterCodec::new(a, b)` → `AnyDelimiterCodec::new_with_max_length(a, b, N)`: the
    /// same codec with a maximum, so a safe fix. Only for a plainly written path call (no
    /// turbofish), where the method name can be swapped in place.
    fn max_length_fix(&self, call: &syn::ExprCall, ty: &str, ctor: &str) -> Option<RawFix> {
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let last = func.path.segments.last()?;
        if !last.arguments.is_none() {
            return None;
        }
        let limit = &self.max_line_length;
        let close = call.paren_token.span.close().byte_range();
        let fix = RawFix::new(
            Applicability::Safe,
            format!("use `{ty}::new_with_max_length(..)` with a maximum of {limit} bytes"),
        );
        match (ty, ctor, call.args.len()) {
            ("LinesCodec", "new" | "default", 0) => Some(fix.edit(
                last.ident.span().byte_range().start..close.end,
                format!("new_with_max_length({limit})"),
            )),
            ("AnyDelimiterCodec", "new", 2) => {
                let separator = if call.args.trailing_punct() {
                    " "
                } else {
                    ", "
                };
                Some(
                    fix.edit(last.ident.span().byte_range(), "new_with_max_length")
                        .edit(close.start..close.start, format!("{separator}{limit}")),
                )
            }
            _ => None,
        }
    }

    /// `None` → `Some(N)` for a WebSocket limit: the configured size, a safe fix.
    fn some_limit_fix(&self, cx: &Context<'_>, none: &Expr, name: &str) -> RawFix {
        let limit = if name == "max_frame_size" {
            &self.max_frame_size
        } else {
            &self.max_message_size
        };
        RawFix::new(
            Applicability::Safe,
            format!("limit `{name}` to {limit} bytes"),
        )
        .edit(cx.range(none), format!("Some({limit})"))
    }
}

impl UnboundedFrame {
    /// `read_line`/`read_until`/`lines()` on a reader over a socket whose peer may be remote.
    fn check_line_reader(&self, cx: &mut Context<'_>, m: &syn::ExprMethodCall, method: &str) {
        let peer = match self.sockets.network_peer(cx, &m.receiver) {
            None | Some(PeerSource::Local(_)) => return,
            Some(peer) => peer,
        };
        let finding = RawFinding {
            rule: ID,
            range: cx.method_call_range(m),
            message: format!("`.{method}()` on a reader over a network stream has no maximum line length: a peer that never sends a newline grows the buffer without bound"),
            help: "limit the reader (`reader.take(MAX)`, renewed per line) or decode with `FramedRead::new(reader, LinesCodec::new_with_max_length(MAX))`".to_owned(),
            labels: Vec::new(),
            fix: None,
        };
        match peer {
            // The listener's (or connect's) address is a parameter: its callers, in any file of
            // the unit or a member that links it, say whether the peer is on this host.
            PeerSource::Callers(params) => cx.report_candidate(
                finding,
                Condition::RemotePeer { params, and: None },
                "the address comes from here",
            ),
            _ => cx.report(finding),
        }
    }
}

impl Rule for UnboundedFrame {
    fn call_args<'ast>(
        &self,
        cx: &mut Context<'ast>,
        call: &'ast Expr,
    ) -> Option<Vec<(u16, AddrShape)>> {
        super::network::call_address_args(cx, call)
    }

    fn id(&self) -> &'static str {
        ID
    }

    fn check_expr<'ast>(&self, cx: &mut Context<'ast>, expr: &'ast Expr) {
        match expr {
            // asynchronous-codec's `LinesCodec` is a unit struct, used as a value.
            Expr::Path(p) if p.qself.is_none() => {
                let Some(path) = cx.resolve(&p.path) else {
                    return;
                };
                if !self.codec_values.contains(&path) || self.codec_reads_local_input(cx, expr) {
                    return;
                }
                let ty = path.rsplit("::").next().unwrap_or("codec");
                cx.report_at(
                    ID,
                    expr,
                    format!("`{ty}` has no maximum frame length: a peer that never sends the delimiter makes the decoder buffer without bound"),
                    "use a codec with a maximum length (`tokio_util::codec::LinesCodec::new_with_max_length(..)`, or a length-delimited codec with a cap)",
                );
            }
            Expr::Call(_) => {
                let Some(path) = cx.callee(expr) else { return };
                if !self.codecs.contains(&path) || self.codec_reads_local_input(cx, expr) {
                    return;
                }
                let mut segs = path.rsplit("::");
                let ctor = segs.next().unwrap_or("new");
                let ty = segs.next().unwrap_or("codec");
                let mut finding = RawFinding {
                    rule: ID,
                    range: cx.range(expr),
                    message: format!("`{ty}::{ctor}` has no maximum frame length: a peer that never sends the delimiter makes the decoder buffer without bound"),
                    help: format!("use `{ty}::new_with_max_length(..)` with the longest frame this protocol allows"),
                    labels: Vec::new(),
                    fix: None,
                };
                if let Expr::Call(call) = expr {
                    finding.fix = self.max_length_fix(call, ty, ctor);
                }
                cx.report(finding);
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                let arg = m.args.first();
                if self.frame_limit_methods.contains(&method)
                    && m.args.len() == 1
                    && arg
                        .and_then(|a| const_value(cx, a))
                        .is_some_and(|v| v >= USIZE_MAX)
                {
                    let limit = &self.max_frame_length;
                    let fix = arg.map(|a| {
                        RawFix::new(
                            Applicability::Safe,
                            format!("set the frame length limit to {limit} bytes"),
                        )
                        .edit(cx.range(a), limit.clone())
                    });
                    let finding = RawFinding {
                        rule: ID,
                        range: cx.method_call_range(m),
                        message: format!("`.{method}(usize::MAX)` turns off the frame length limit: one peer can make the decoder buffer a frame of any size"),
                        help: "keep a finite maximum (the default is 8 MiB)".to_owned(),
                        labels: Vec::new(),
                        fix,
                    };
                    cx.report(finding);
                } else if self.none_limits.contains(&method)
                    && m.args.len() == 1
                    && arg.is_some_and(|a| is_none(peel(a)))
                    && self.is_ws_config(cx, &m.receiver, 0)
                {
                    let range = cx.method_call_range(m);
                    let fix = arg.map(|a| self.some_limit_fix(cx, a, &method));
                    report_none_limit(cx, range, &method, fix);
                } else if self.line_readers.contains(&method) && m.args.len() <= 2 {
                    self.check_line_reader(cx, m, &method);
                }
            }
            // `WebSocketConfig { max_message_size: None, .. }`
            Expr::Struct(s) if self.is_ws_config(cx, expr, 0) => {
                for field in &s.fields {
                    if let Member::Named(name) = &field.member {
                        let name = name.to_string();
                        if self.none_limits.contains(&name) && is_none(peel(&field.expr)) {
                            let range = cx.range(field);
                            let fix = self.some_limit_fix(cx, &field.expr, &name);
                            report_none_limit(cx, range, &name, Some(fix));
                        }
                    }
                }
            }
            // `config.max_message_size = None;`
            Expr::Assign(a) => {
                if let Expr::Field(f) = &*a.left {
                    if !self.is_ws_config(cx, &f.base, 0) {
                        return;
                    }
                    if let Member::Named(name) = &f.member {
                        let name = name.to_string();
                        if self.none_limits.contains(&name) && is_none(peel(&a.right)) {
                            let range = cx.range(expr);
                            let fix = self.some_limit_fix(cx, &a.right, &name);
                            report_none_limit(cx, range, &name, Some(fix));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn report_none_limit(
    cx: &mut Context<'_>,
    range: std::ops::Range<usize>,
    name: &str,
    fix: Option<RawFix>,
) {
    cx.report(RawFinding {
        rule: ID,
        range,
        message: format!("`{name}: None` removes the WebSocket size limit: one peer can send a message or frame of any size, and it is buffered whole"),
        help: "keep a finite limit (tungstenite's defaults are 64 MiB per message and 16 MiB per frame)".to_owned(),
        labels: Vec::new(),
        fix,
    });
}
