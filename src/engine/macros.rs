//! Macro bodies made visible: before any rule runs, the token streams of macro invocations are
//! re-parsed and put back into the tree as marked blocks (or spliced items), so that `select!`,
//! `join!`, `stream!`, `vec!` and unknown macros are analysed like ordinary code.
//!
//! Invariant: a macro whose tokens do not parse is left untouched; nothing here can fail a file.
use proc_macro2::{Group, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Block, Expr, ExprBlock, Item, Local, LocalInit, Pat, Stmt, Token};

/// The marker attribute put on a block made from a macro: `#[__backpressure_macro(path::of::macro)]`.
pub const MARKER: &str = "__backpressure_macro";

/// Expands every macro invocation in `file` that parses as code. `wanted` decides, from the
/// tokens, whether an unknown macro is worth parsing (the prefilter passes its trigger words).
pub fn expand(file: &mut syn::File, wanted: &dyn Fn(&TokenStream) -> bool) {
    let mut expander = Expander { wanted };
    expander.visit_file_mut(file);
}

/// The macro path recorded on a block made by [`expand`].
pub fn origin(attrs: &[Attribute]) -> Option<syn::Path> {
    let attr = attrs.iter().find(|a| a.path().is_ident(MARKER))?;
    attr.parse_args::<syn::Path>().ok()
}

struct Expander<'w> {
    wanted: &'w dyn Fn(&TokenStream) -> bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Grammar {
    /// `tokio::select!`, `futures::select!`: `pat = future (, if cond)? => handler,` branches.
    Select,
    /// `join!`, `try_join!`, `pin_mut!`: comma-separated expressions, optional `biased;`.
    Exprs,
    /// `async_stream::stream!` / `try_stream!`: statements, with `for await` loops.
    Stream,
    /// Anything else: expressions, then statements.
    Unknown,
}

fn grammar(path: &syn::Path) -> Option<Grammar> {
    let last = path.segments.last()?.ident.to_string();
    Some(match last.as_str() {
        "macro_rules" => return None,
        "select" | "select_biased" => Grammar::Select,
        "join" | "try_join" | "pin_mut" | "pin" => Grammar::Exprs,
        "stream" | "try_stream" => Grammar::Stream,
        _ => Grammar::Unknown,
    })
}

impl Expander<'_> {
    fn expand_expr_macro(&self, mac: &syn::Macro) -> Option<Expr> {
        let grammar = grammar(&mac.path)?;
        if grammar == Grammar::Unknown && !(self.wanted)(&mac.tokens) {
            return None;
        }
        let tokens = mac.tokens.clone();
        let stmts = match grammar {
            Grammar::Select => parse_select.parse2(tokens).ok()?,
            Grammar::Exprs => parse_exprs.parse2(tokens).ok()?,
            Grammar::Stream => Block::parse_within.parse2(strip_for_await(tokens)).ok()?,
            Grammar::Unknown => parse_exprs
                .parse2(tokens.clone())
                .or_else(|_| Block::parse_within.parse2(tokens))
                .ok()?,
        };
        let path = &mac.path;
        let marker: Attribute = syn::parse_quote!(#[__backpressure_macro(#path)]);
        Some(Expr::Block(ExprBlock {
            attrs: vec![marker],
            label: None,
            block: Block {
                brace_token: Default::default(),
                stmts,
            },
        }))
    }

    /// Item-position macros (`cfg_rt! { pub fn .. }`) whose body is items are spliced in place.
    fn splice_items(&mut self, items: &mut Vec<Item>) {
        let mut i = 0;
        while i < items.len() {
            let parsed = match &items[i] {
                Item::Macro(m)
                    if m.ident.is_none()
                        && grammar(&m.mac.path).is_some()
                        && (self.wanted)(&m.mac.tokens) =>
                {
                    parse_items.parse2(m.mac.tokens.clone()).ok()
                }
                _ => None,
            };
            match parsed {
                // Spliced items are visited on a later turn of this loop, so nested macros expand too.
                Some(new) => {
                    items.splice(i..=i, new);
                }
                None => {
                    self.visit_item_mut(&mut items[i]);
                    i += 1;
                }
            }
        }
    }
}

impl VisitMut for Expander<'_> {
    fn visit_file_mut(&mut self, file: &mut syn::File) {
        self.splice_items(&mut file.items);
    }

    fn visit_item_mod_mut(&mut self, m: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut m.content {
            self.splice_items(items);
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Macro(m) = expr {
            if let Some(expanded) = self.expand_expr_macro(&m.mac) {
                *expr = expanded;
            }
        }
        visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Macro(m) = stmt {
            if let Some(expanded) = self.expand_expr_macro(&m.mac) {
                *stmt = Stmt::Expr(expanded, m.semi_token);
            }
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }

    // Macro definitions are templates, not code.
    fn visit_item_macro_mut(&mut self, _: &mut syn::ItemMacro) {}
}

fn parse_items(input: ParseStream) -> syn::Result<Vec<Item>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        items.push(input.parse()?);
    }
    Ok(items)
}

fn skip_biased(input: ParseStream) -> syn::Result<()> {
    if input.peek(syn::Ident)
        && input.peek2(Token![;])
        && input.fork().parse::<syn::Ident>()? == "biased"
    {
        input.parse::<syn::Ident>()?;
        input.parse::<Token![;]>()?;
    }
    Ok(())
}

/// A macro argument as a statement. No semicolon: the value is the macro's, not thrown away here
/// (rules that look for discarded results must not see a synthetic `;`).
fn expr_stmt(expr: Expr) -> Stmt {
    Stmt::Expr(expr, None)
}

fn parse_exprs(input: ParseStream) -> syn::Result<Vec<Stmt>> {
    skip_biased(input)?;
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
    Ok(exprs.into_iter().map(expr_stmt).collect())
}

/// A select arm's handler: a block (no comma needed after it) or an expression.
fn parse_handler(input: ParseStream) -> syn::Result<Expr> {
    if input.peek(syn::token::Brace) {
        let block: Block = input.parse()?;
        Ok(Expr::Block(ExprBlock {
            attrs: Vec::new(),
            label: None,
            block,
        }))
    } else {
        input.parse()
    }
}

/// `select!` branches become `let <pat> = <future>; <handler>;` so rules see the future, the
/// binding and the handler in order; `else`/`default`/`complete` arms become their handler.
fn parse_select(input: ParseStream) -> syn::Result<Vec<Stmt>> {
    skip_biased(input)?;
    let mut stmts = Vec::new();
    while !input.is_empty() {
        let fallback_arm = input.peek(Token![else])
            || (input.peek(syn::Ident) && input.peek2(Token![=>]) && {
                let ident = input.fork().parse::<syn::Ident>()?;
                ident == "default" || ident == "complete"
            });
        if fallback_arm {
            input.parse::<TokenTree>()?;
            input.parse::<Token![=>]>()?;
            stmts.push(expr_stmt(parse_handler(input)?));
        } else {
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            let eq_token: Token![=] = input.parse()?;
            let future: Expr = input.parse()?;
            stmts.push(Stmt::Local(Local {
                attrs: Vec::new(),
                let_token: Default::default(),
                modifiers: Default::default(),
                pat,
                init: Some(LocalInit {
                    eq_token,
                    expr: Box::new(future),
                    diverge: None,
                }),
                semi_token: Default::default(),
            }));
            if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                stmts.push(expr_stmt(input.parse()?));
            }
            input.parse::<Token![=>]>()?;
            stmts.push(expr_stmt(parse_handler(input)?));
        }
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(stmts)
}

/// `for await x in s { .. }` (async-stream syntax) becomes `for x in s { .. }`.
fn strip_for_await(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut after_for = false;
    for tt in tokens {
        match &tt {
            TokenTree::Ident(i) if after_for && i == "await" => {
                after_for = false;
                continue;
            }
            TokenTree::Ident(i) => after_for = i == "for",
            _ => after_for = false,
        }
        out.push(match tt {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), strip_for_await(g.stream()));
                ng.set_span(g.span());
                TokenTree::Group(ng)
            }
            other => other,
        });
    }
    out.into_iter().collect()
}

/// True when any identifier in `tokens` (recursively) satisfies `pred`.
pub fn any_ident(tokens: &TokenStream, pred: &dyn Fn(&str) -> bool) -> bool {
    tokens.clone().into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => pred(&i.to_string()),
        TokenTree::Group(g) => any_ident(&g.stream(), pred),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn expanded(src: &str) -> String {
        let mut file = syn::parse_file(src).unwrap();
        expand(&mut file, &|_| true);
        file.into_token_stream().to_string()
    }

    #[test]
    fn select_branches_become_lets_and_handlers() {
        let out = expanded("fn f() { tokio::select! { biased; Some(m) = rx.recv() => { go(m) } _ = sleep(d) => stop(), else => () } }");
        assert!(out.contains("let Some (m) = rx . recv ()"), "{out}");
        assert!(out.contains("let _ = sleep (d)"), "{out}");
        assert!(
            out.contains("__backpressure_macro (tokio :: select)"),
            "{out}"
        );
    }

    #[test]
    fn stream_for_await_and_item_macros() {
        let out = expanded("fn f() { let s = stream! { for await x in rx { yield x; } }; } cfg_rt! { pub fn g() { h!(a, b) } }");
        assert!(out.contains("for x in rx"), "{out}");
        assert!(out.contains("pub fn g"), "{out}");
        assert!(!out.contains("cfg_rt"), "{out}");
    }

    #[test]
    fn unparseable_macros_stay() {
        let out =
            expanded("fn f() { html! { <div> </div> } } macro_rules! m { ($x:expr) => { $x } }");
        assert!(out.contains("html !"), "{out}");
        assert!(out.contains("macro_rules"), "{out}");
    }
}
