//! The middleware function's signature: which parameter is the request, which the files,
//! which the input.
//!
//! Parameters are recognised by type, in any order: a type whose last path segment is
//! `HttpRequest` is the request, a reference to `PendingFiles` is the files, and any other
//! single parameter is the route's input. Each may be taken by value or by (`mut`) reference.
//! The return type is not inspected: `uplift::__private::middleware_output` infers the
//! metadata from it and reports a non-`Result` with its own diagnostic.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::errors::Errors;

/// How the user's function takes a parameter, and so how the generated closure passes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passing {
    Value,
    Ref,
    RefMut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Request,
    Input,
    Files,
}

/// The middleware's parameters in the user's order, and its input type.
#[derive(Debug, Clone)]
pub(crate) struct Middleware {
    pub(crate) params: Vec<(Role, Passing)>,
    /// The input type without its reference; `None` when the function takes no input.
    pub(crate) input: Option<Type>,
    /// Where to point when the return type is not a `Result`.
    pub(crate) output_span: Span,
}

impl Middleware {
    pub(crate) fn passing(&self, role: Role) -> Option<Passing> {
        self.params
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, p)| *p)
    }
}

pub(crate) fn analyze(func: &ItemFn) -> syn::Result<Middleware> {
    let sig = &func.sig;
    let mut errors = Errors::default();
    let name = &sig.ident;

    if let Some(constness) = &sig.constness {
        errors.at(
            constness.span,
            "a file route's middleware cannot be a `const fn`",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.at(unsafety.span, "a file route's middleware cannot be an `unsafe fn`: the route calls it for every upload");
    }
    if let Some(abi) = &sig.abi {
        errors.spanning(
            abi,
            "a file route's middleware must use the Rust ABI: remove the `extern`",
        );
    }
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token.span,
            format!(
                "a file route's middleware must be an `async fn`: write `async fn {name}(...)`"
            ),
        );
    }
    if !sig.generics.params.is_empty() {
        errors.spanning(
            &sig.generics,
            "a file route's middleware cannot be generic: name concrete types for the input and the metadata",
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanning(
            where_clause,
            "a file route's middleware cannot have a `where` clause",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanning(variadic, "a file route's middleware cannot be variadic");
    }

    let mut params: Vec<(Role, Passing)> = Vec::new();
    let mut input: Option<Type> = None;
    for arg in &sig.inputs {
        let typed = match arg {
            FnArg::Receiver(receiver) => {
                errors.spanning(
                    receiver,
                    "a file route's middleware must be a free function, not a method: remove `self`",
                );
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        let (passing, inner) = peel_reference(&typed.ty);
        let role = match last_segment(inner).as_deref() {
            Some("HttpRequest") => Role::Request,
            Some("PendingFiles") => {
                if passing == Passing::Value {
                    errors.spanning(
                        &typed.ty,
                        "take the files as `&mut PendingFiles`: the middleware may rename them or set custom ids, but the upload keeps them",
                    );
                    continue;
                }
                Role::Files
            }
            _ => Role::Input,
        };
        if let Some(message) = unnameable(inner) {
            errors.spanning(&typed.ty, message);
            continue;
        }
        if params.iter().any(|(r, _)| *r == role) {
            let message = match role {
                Role::Request => "a file route's middleware takes the `HttpRequest` only once".to_string(),
                Role::Files => "a file route's middleware takes `&mut PendingFiles` only once".to_string(),
                Role::Input => format!(
                    "a file route's middleware takes one input, and `{}` is already it: put the fields \
                     of both in one `Deserialize + Validate` struct (the other parameters can only be \
                     `HttpRequest` and `&mut PendingFiles`)",
                    type_text(input.as_ref().expect("an input was recorded"))
                ),
            };
            errors.spanning(&typed.ty, message);
            continue;
        }
        if role == Role::Input {
            input = Some(inner.clone());
        }
        params.push((role, passing));
    }

    let output_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    };
    errors.finish()?;
    Ok(Middleware {
        params,
        input,
        output_span,
    })
}

/// What the metadata type is called, read off a `Result<M, E>` return type; for help texts
/// only, the expansion never relies on it.
pub(crate) fn metadata_name(func: &ItemFn) -> Option<String> {
    let ReturnType::Type(_, ty) = &func.sig.output else {
        return None;
    };
    let Type::Path(p) = strip_groups(ty) else {
        return None;
    };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(ok) if last.ident == "Result" => Some(type_text(ok)),
        _ => None,
    }
}

/// `&T` → (Ref, T), `&mut T` → (RefMut, T), `T` → (Value, T); through parentheses and the
/// invisible groups of `macro_rules!`.
fn peel_reference(ty: &Type) -> (Passing, &Type) {
    match ty {
        Type::Reference(r) => {
            let passing = if r.mutability.is_some() {
                Passing::RefMut
            } else {
                Passing::Ref
            };
            (passing, strip_groups(&r.elem))
        }
        Type::Paren(p) => peel_reference(&p.elem),
        Type::Group(g) => peel_reference(&g.elem),
        other => (Passing::Value, other),
    }
}

fn strip_groups(ty: &Type) -> &Type {
    match ty {
        Type::Paren(p) => strip_groups(&p.elem),
        Type::Group(g) => strip_groups(&g.elem),
        other => other,
    }
}

/// The last path segment of a plain path type without generic arguments (`HttpRequest`,
/// `actix_web::HttpRequest`, `uplift::PendingFiles`).
fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .filter(|s| s.arguments.is_none())
            .map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Why a parameter type cannot be repeated in the generated closure, if it cannot.
fn unnameable(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::ImplTrait(_) => {
            Some("a file route's input must be a named type (`Deserialize + Validate`), not `impl Trait`")
        }
        Type::Infer(_) => Some("a file route's parameters need explicit types"),
        Type::Reference(_) => Some("a file route's parameters can be taken by value or by one reference, not `&&T`"),
        _ => None,
    }
}

/// A type as people write it (`a::Meta<u8>`), for messages.
fn type_text(ty: &Type) -> String {
    let mut text = quote::quote!(#ty).to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn analyze_ok(func: ItemFn) -> Middleware {
        analyze(&func).unwrap_or_else(|e| panic!("unexpected errors: {e}"))
    }

    fn errors(func: ItemFn) -> Vec<String> {
        analyze(&func)
            .expect_err("expected errors")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    fn input_text(m: &Middleware) -> Option<String> {
        m.input.as_ref().map(type_text)
    }

    #[test]
    fn parameters_are_recognised_by_type_in_any_order() {
        let m = analyze_ok(parse_quote! {
            async fn f(files: &mut PendingFiles, input: my::Input, req: HttpRequest) -> Result<M, E> { todo!() }
        });
        assert_eq!(
            m.params,
            [
                (Role::Files, Passing::RefMut),
                (Role::Input, Passing::Value),
                (Role::Request, Passing::Value)
            ]
        );
        assert_eq!(input_text(&m).as_deref(), Some("my::Input"));
    }

    #[test]
    fn references_are_peeled_and_remembered() {
        let m = analyze_ok(parse_quote! {
            async fn f(req: &actix_web::HttpRequest, input: &Input, files: &uplift::PendingFiles) -> Result<M, E> { todo!() }
        });
        assert_eq!(
            m.params,
            [
                (Role::Request, Passing::Ref),
                (Role::Input, Passing::Ref),
                (Role::Files, Passing::Ref)
            ]
        );
        assert_eq!(input_text(&m).as_deref(), Some("Input"));
    }

    #[test]
    fn no_parameters_means_no_input() {
        let m = analyze_ok(parse_quote!(
            async fn f() -> Result<M, E> {
                todo!()
            }
        ));
        assert!(m.params.is_empty());
        assert!(m.input.is_none());
    }

    #[test]
    fn generic_arguments_make_a_type_an_input() {
        // `HttpRequest<T>` is not actix's request: it is the input (and will not deserialize).
        let m = analyze_ok(parse_quote!(
            async fn f(x: HttpRequest<T>) -> Result<M, E> {
                todo!()
            }
        ));
        assert_eq!(m.params, [(Role::Input, Passing::Value)]);
    }

    #[test]
    fn unsupported_signatures_are_reported_together() {
        let e = errors(parse_quote! {
            const unsafe extern "C" fn f<T>(&self, a: A, b: B, files: PendingFiles, x: impl Tr, r: HttpRequest, r2: HttpRequest) {}
        });
        assert_eq!(
            e,
            [
                "a file route's middleware cannot be a `const fn`",
                "a file route's middleware cannot be an `unsafe fn`: the route calls it for every upload",
                "a file route's middleware must use the Rust ABI: remove the `extern`",
                "a file route's middleware must be an `async fn`: write `async fn f(...)`",
                "a file route's middleware cannot be generic: name concrete types for the input and the metadata",
                "a file route's middleware must be a free function, not a method: remove `self`",
                "a file route's middleware takes one input, and `A` is already it: put the fields of both in one \
                 `Deserialize + Validate` struct (the other parameters can only be `HttpRequest` and `&mut PendingFiles`)",
                "take the files as `&mut PendingFiles`: the middleware may rename them or set custom ids, but the upload keeps them",
                "a file route's input must be a named type (`Deserialize + Validate`), not `impl Trait`",
                "a file route's middleware takes the `HttpRequest` only once",
            ]
        );
        let e = errors(parse_quote!(
            async fn f<'a>(x: &'a Input) -> Result<M, E> {
                todo!()
            }
        ));
        assert_eq!(e.len(), 1);
        let e = errors(parse_quote!(
            async fn f(x: &mut PendingFiles) -> Result<M, E>
            where
                M: Sized,
            {
                todo!()
            }
        ));
        assert_eq!(
            e,
            ["a file route's middleware cannot have a `where` clause"]
        );
    }

    #[test]
    fn the_metadata_name_comes_from_a_result_return_type() {
        let name = |f: ItemFn| metadata_name(&f);
        assert_eq!(
            name(parse_quote!(
                async fn f() -> Result<Session, E> {
                    todo!()
                }
            ))
            .as_deref(),
            Some("Session")
        );
        assert_eq!(
            name(parse_quote!(
                async fn f() -> Result<(Vec<u8>, &'static str), E> {
                    todo!()
                }
            ))
            .as_deref(),
            Some("(Vec<u8>, &'static str)")
        );
        assert_eq!(
            name(parse_quote!(
                async fn f() -> std::result::Result<a::Meta<u8>, E> {
                    todo!()
                }
            ))
            .as_deref(),
            Some("a::Meta<u8>")
        );
        assert_eq!(
            name(parse_quote!(
                async fn f() -> Session {
                    todo!()
                }
            )),
            None
        );
        assert_eq!(
            name(parse_quote!(
                async fn f() {}
            )),
            None
        );
    }
}
