//! Where a value comes from, for rules that care whether a reader is fed by the network: a socket,
//! a TLS stream over one, a half of one, or a buffered reader over any of these. A local file,
//! stdin, a child's pipe or a byte slice is not network input.
use std::collections::HashSet;

use syn::{Expr, Type};

use super::syntax::{ident_of, peel, self_field, type_args};
use super::{api_map, name_list};
use crate::catalogue::RuleDoc;
use crate::engine::Context;

/// How deep to follow `let` initializers (`let s = ..; let r = BufReader::new(s);`).
const MAX_DEPTH: usize = 6;

/// The catalogue's socket types and constructors, canonical paths.
pub struct Sockets {
    pub types: HashSet<String>,
    pub constructors: HashSet<String>,
    /// A listener's method that yields an accepted stream (`accept()`, no arguments).
    pub accepts: Vec<String>,
}

impl Sockets {
    /// The rule's `socket-types`, `socket-constructors` and `accept-methods` lists.
    pub fn from_doc(doc: &RuleDoc) -> Sockets {
        let keys = |k: &str| api_map(doc, k).into_keys().collect::<HashSet<_>>();
        Sockets {
            types: keys("socket-types"),
            constructors: keys("socket-constructors"),
            accepts: name_list(doc, "accept-methods"),
        }
    }

    /// Whether `expr` is visibly a network stream or a reader over one.
    pub fn is_network(&self, cx: &Context<'_>, expr: &Expr) -> bool {
        self.network_at(cx, expr, 0)
    }

    fn network_at(&self, cx: &Context<'_>, expr: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let e = peel(expr);
        if let Some(field) = self_field(e) {
            return cx
                .self_field_type(&field)
                .is_some_and(|t| self.is_socket_type(cx, t));
        }
        if let Some(name) = ident_of(e) {
            let Some(b) = cx.binding(&name).copied() else {
                return false;
            };
            if b.ty.is_some_and(|t| self.is_socket_type(cx, t)) {
                return true;
            }
            return b.init.is_some_and(|init| {
                // `let (stream, addr) = listener.accept().await?` and `let (rd, wr) = s.into_split()`:
                // only the first element of an accept is the stream; both halves of a split read.
                let accept = matches!(peel(init), Expr::MethodCall(m) if self.is_accept(m));
                (!accept || b.tuple_index.is_none_or(|i| i == 0))
                    && self.network_at(cx, init, depth + 1)
            });
        }
        match e {
            Expr::Call(c) => {
                let Some(path) = cx.callee(e) else {
                    return false;
                };
                if self.constructors.contains(&path) {
                    return true;
                }
                // Wrappers that read through their argument: `BufReader::new(stream)`.
                path.ends_with("::BufReader::new")
                    && c.args
                        .first()
                        .is_some_and(|a| self.network_at(cx, a, depth + 1))
            }
            Expr::MethodCall(m) if self.is_accept(m) => true,
            Expr::MethodCall(m) => match m.method.to_string().as_str() {
                // TLS handshakes over a stream: `acceptor.accept(s)`, `connector.connect(name, s)`.
                "accept" | "connect" => m.args.iter().any(|a| self.network_at(cx, a, depth + 1)),
                // Halves, views and clones of a stream.
                "split" | "into_split" | "get_mut" | "get_ref" | "by_ref" | "try_clone" => {
                    self.network_at(cx, &m.receiver, depth + 1)
                }
                _ => false,
            },
            Expr::Field(f) => self.network_at(cx, &f.base, depth + 1),
            _ => false,
        }
    }

    fn is_accept(&self, m: &syn::ExprMethodCall) -> bool {
        m.args.is_empty() && self.accepts.iter().any(|a| m.method == a)
    }

    fn is_socket_type(&self, cx: &Context<'_>, ty: &Type) -> bool {
        let Some(path) = cx.type_path(ty) else {
            return false;
        };
        if self.types.contains(&path) {
            return true;
        }
        // A buffered reader over a socket: `BufReader<TcpStream>`.
        path.ends_with("::BufReader") && type_args(ty).any(|t| self.is_socket_type(cx, t))
    }
}
