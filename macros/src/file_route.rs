//! `#[file_route(...)]`: the original function, unchanged, plus a braced unit struct of the
//! same name implementing `uplift::FileRoute`.
//!
//! A braced struct lives only in the type namespace, so the function stays callable by its
//! name while `uplift::router![name]` finds the struct. The generated `route()` hands the
//! config, an adapter closure around the function, and the hooks to
//! `uplift::__private::RouteBuilder`, whose generic methods infer the input, metadata and
//! server-data types; nothing here names them twice.

use heck::ToLowerCamelCase;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, ItemFn};

use crate::attr::{self, Acl, ContentDisposition, FileType, RouteAttr, TypeRule};
use crate::errors::Errors;
use crate::signature::{self, Middleware, Passing, Role};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[uplift::file_route(...)] goes on the route's middleware, an `async fn`",
            );
            let error = error.to_compile_error();
            return quote!(#item #error);
        }
    };

    let mut errors = Errors::default();
    let metadata = signature::metadata_name(&func);
    let route = attr::parse(attr, metadata.as_deref())
        .map_err(|e| errors.push(e))
        .ok();
    let middleware = signature::analyze(&func).map_err(|e| errors.push(e)).ok();
    if let Some(RouteAttr { slug: None, .. }) = &route {
        check_default_slug(&func.sig.ident, &mut errors);
    }
    let generated = match (route, middleware) {
        (Some(route), Some(middleware)) if errors.count() == 0 => {
            route_impl(&func, &route, &middleware)
        }
        // The errors are reported; a stand-in `route()` keeps `router![...]` from adding
        // "not a file route" errors of its own.
        _ => quote!(::core::unreachable!()),
    };
    let errors = errors.to_compile_error();
    if func.sig.receiver().is_some() {
        // A method: a struct could not live in its `impl` block, and the error says why.
        return quote!(#item #errors);
    }
    let name = &func.sig.ident;
    let vis = &func.vis;
    let cfgs = cfg_attrs(&func.attrs);
    quote! {
        #item

        #(#cfgs)*
        #[allow(non_camel_case_types, dead_code)]
        #[doc(hidden)]
        #vis struct #name {}

        #(#cfgs)*
        impl ::uplift::FileRoute for #name {
            fn route() -> ::uplift::__private::Route {
                #generated
            }
        }

        #errors
    }
}

/// The body of `route()`.
fn route_impl(func: &ItemFn, route: &RouteAttr, middleware: &Middleware) -> TokenStream {
    let config = config(route, &func.sig.ident, doc_comment(&func.attrs));
    let closure = middleware_closure(&func.sig.ident, middleware);
    // The input type is given explicitly: an unsatisfied `Deserialize + Validate` bound then
    // points at it (with the user's span, from the signature) instead of at the attribute.
    let input_type = input_type(middleware);
    let complete = &route.on_upload_complete;
    // The hooks keep the user's spans, so an unsatisfied `CompletionHook`/`ErrorHook` bound
    // (and its `on_unimplemented` message) points at the path in the attribute.
    let complete = quote_spanned!(complete.span()=> .on_upload_complete(#complete));
    let on_error = route
        .on_upload_error
        .as_ref()
        .map(|hook| quote_spanned!(hook.span()=> .on_upload_error(#hook)));
    let on_delete = route
        .on_delete
        .as_ref()
        .map(|hook| quote_spanned!(hook.span()=> .on_delete(#hook)));
    quote! {
        ::uplift::__private::RouteBuilder::new(#config)
            .middleware::<#input_type, _, _, _, _>(#closure)
            #complete
            #on_error
            #on_delete
            .build()
    }
}

/// A slug derived from the name must not be one the runtime reserves (an explicit one is
/// checked with the attribute).
fn check_default_slug(name: &Ident, errors: &mut Errors) {
    let slug = default_slug(name);
    if attr::RESERVED_SLUGS.contains(&slug.as_str()) {
        errors.at(
            name.span(),
            format!(
                "this route's slug would be \"{slug}\", which is reserved for a built-in endpoint: \
                 rename the function or set `slug = \"...\"`"
            ),
        );
    }
}

/// The lowerCamelCase of the function's name: `media_post` → `mediaPost`.
pub(crate) fn default_slug(name: &Ident) -> String {
    name.unraw().to_string().to_lower_camel_case()
}

/// The function's doc comment as one string (`None` without one): the route's description in
/// the OpenAPI document. Only literal `#[doc = "..."]`s count (not `#[doc = include_str!(..)]`).
fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    // `/// text` arrives as " text": drop the one space rustdoc drops too.
    let text = lines
        .iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn config(route: &RouteAttr, name: &Ident, description: Option<String>) -> TokenStream {
    let slug = route.slug.clone().unwrap_or_else(|| default_slug(name));
    let description = description.map(|d| quote!(.description(#d)));
    let types = route.types.iter().map(type_rule);
    let await_server_data = route
        .await_server_data
        .map(|b| quote!(.await_server_data(#b)));
    let max_total_file_count = route.max_total_file_count.map(|n| {
        let n = Literal::u32_suffixed(n);
        quote!(.max_total_file_count(#n))
    });
    let max_total_size = route.max_total_size.map(|n| {
        let n = Literal::u64_suffixed(n);
        quote!(.max_total_size(#n))
    });
    quote! {
        ::uplift::RouteConfig::new(#slug)
            #(.file_type(#types))*
            #await_server_data
            #max_total_file_count
            #max_total_size
            #description
    }
}

fn type_rule(rule: &TypeRule) -> TokenStream {
    let file_type = match &rule.file_type {
        FileType::Image => quote!(::uplift::FileType::Image),
        FileType::Video => quote!(::uplift::FileType::Video),
        FileType::Audio => quote!(::uplift::FileType::Audio),
        FileType::Pdf => quote!(::uplift::FileType::Pdf),
        FileType::Text => quote!(::uplift::FileType::Text),
        FileType::Blob => quote!(::uplift::FileType::Blob),
        FileType::Mime(mime) => {
            quote!(::uplift::FileType::Mime(::std::borrow::Cow::Borrowed(#mime)))
        }
    };
    let max_file_size = rule.max_file_size.map(|n| {
        let n = Literal::u64_suffixed(n);
        quote!(.max_file_size(#n))
    });
    let max_file_count = rule.max_file_count.map(|n| {
        let n = Literal::u32_suffixed(n);
        quote!(.max_file_count(#n))
    });
    let min_file_count = rule.min_file_count.map(|n| {
        let n = Literal::u32_suffixed(n);
        quote!(.min_file_count(#n))
    });
    let content_disposition = rule.content_disposition.map(|d| match d {
        ContentDisposition::Inline => {
            quote!(.content_disposition(::uplift::ContentDisposition::Inline))
        }
        ContentDisposition::Attachment => {
            quote!(.content_disposition(::uplift::ContentDisposition::Attachment))
        }
    });
    let acl = rule.acl.map(|a| match a {
        Acl::PublicRead => quote!(.acl(::uplift::Acl::PublicRead)),
        Acl::Private => quote!(.acl(::uplift::Acl::Private)),
    });
    quote! {
        ::uplift::TypeRule::new(#file_type)
            #max_file_size
            #max_file_count
            #min_file_count
            #content_disposition
            #acl
    }
}

/// `|req, input, files| async move { ... }`: always the same three parameters, whatever the
/// function takes; the function is called with its own parameters in its own order.
fn middleware_closure(name: &Ident, middleware: &Middleware) -> TokenStream {
    // Mixed-site hygiene: these locals cannot capture or shadow the user's names (say, a
    // middleware called `files`).
    let local = |name: &str| Ident::new(name, Span::mixed_site());
    let binding = |role: Role, name: &str| {
        let passing = middleware.passing(role);
        let ident = if passing.is_some() || role == Role::Files {
            local(name)
        } else {
            local(&format!("_{name}"))
        };
        let mutability = (passing == Some(Passing::RefMut)).then(|| quote!(mut));
        (quote!(#mutability #ident), local(name))
    };
    let (req_binding, req) = binding(Role::Request, "req");
    let (input_binding, input) = binding(Role::Input, "input");
    let (files_binding, files) = binding(Role::Files, "files");
    let input_type = input_type(middleware);
    let args = middleware.params.iter().map(|&(role, passing)| {
        let ident = match role {
            Role::Request => &req,
            Role::Input => &input,
            Role::Files => &files,
        };
        match passing {
            Passing::Value => quote!(#ident),
            Passing::Ref => quote!(&#ident),
            Passing::RefMut => quote!(&mut #ident),
        }
    });
    // Located at the return type: a middleware that does not return a `Result` gets
    // `MiddlewareOutput`'s diagnostic there rather than on the whole attribute.
    // (The local shares the return type's span and context, not mixed-site hygiene: rustc
    // points at an argument only when it is in the same context as its call; hence the
    // unlikely name.)
    let returned = Ident::new("__uplift_returned", middleware.output_span);
    let output =
        quote_spanned!(middleware.output_span=> ::uplift::__private::middleware_output(#returned));
    let meta = local("meta");
    quote! {
        |#req_binding: ::uplift::__private::HttpRequest, #input_binding: #input_type, #files_binding: ::uplift::PendingFiles| async move {
            let #returned = #name(#(#args),*).await;
            #output.map(|#meta| (#meta, #files))
        }
    }
}

fn input_type(middleware: &Middleware) -> TokenStream {
    match &middleware.input {
        Some(ty) => quote!(#ty),
        None => quote!(::uplift::NoInput),
    }
}

/// `#[cfg(...)]` on the function applies to what is generated for it as well.
fn cfg_attrs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    /// Token-for-token comparison; spans and hygiene do not show in the printed form.
    fn assert_expands(attr: TokenStream, item: TokenStream, expected: TokenStream) {
        let actual = expand(attr, item).to_string();
        let expected = expected.to_string();
        assert!(
            actual == expected,
            "expansion differs\n--- actual\n{actual}\n--- expected\n{expected}"
        );
    }

    #[test]
    fn slugs_are_the_name_in_lower_camel_case() {
        let slug = |name: &str| default_slug(&syn::parse_str::<Ident>(name).unwrap());
        assert_eq!(slug("media_post"), "mediaPost");
        assert_eq!(slug("profile_picture"), "profilePicture");
        assert_eq!(slug("avatar"), "avatar");
        assert_eq!(slug("upload_2_images"), "upload2Images");
        assert_eq!(slug("r#type"), "type");
        assert_eq!(slug("_private_route"), "privateRoute");
        assert_eq!(slug("already_camelCase"), "alreadyCamelCase");
    }

    #[test]
    fn the_documented_example() {
        let item = quote! {
            /// Stays on the function.
            pub async fn media_post(req: HttpRequest, input: PostInput, files: &mut PendingFiles) -> Result<Session, UploadError> {
                todo!()
            }
        };
        assert_expands(
            quote! {
                image(max_file_size = "2MB", max_file_count = 4),
                mime("application/json", acl = "private"),
                await_server_data,
                max_total_size = "300MB",
                on_upload_complete = media_post_done,
                on_upload_error = media_post_failed,
            },
            item.clone(),
            quote! {
                #item

                #[allow(non_camel_case_types, dead_code)]
                #[doc(hidden)]
                pub struct media_post {}

                impl ::uplift::FileRoute for media_post {
                    fn route() -> ::uplift::__private::Route {
                        ::uplift::__private::RouteBuilder::new(
                            ::uplift::RouteConfig::new("mediaPost")
                                .file_type(::uplift::TypeRule::new(::uplift::FileType::Image).max_file_size(2097152u64).max_file_count(4u32))
                                .file_type(::uplift::TypeRule::new(::uplift::FileType::Mime(::std::borrow::Cow::Borrowed("application/json"))).acl(::uplift::Acl::Private))
                                .await_server_data(true)
                                .max_total_size(314572800u64)
                                .description("Stays on the function.")
                        )
                        .middleware::<PostInput, _, _, _, _>(|req: ::uplift::__private::HttpRequest, input: PostInput, mut files: ::uplift::PendingFiles| async move {
                            let __uplift_returned = media_post(req, input, &mut files).await;
                            ::uplift::__private::middleware_output(__uplift_returned).map(|meta| (meta, files))
                        })
                        .on_upload_complete(media_post_done)
                        .on_upload_error(media_post_failed)
                        .build()
                    }
                }
            },
        );
    }

    #[test]
    fn unused_closure_parameters_are_underscored_and_nothing_is_needlessly_mut() {
        let item = quote! {
            async fn plain() -> Result<(), E> { Ok(()) }
        };
        assert_expands(
            quote!(
                pdf(content_disposition = "attachment", min_file_count = 0),
                on_upload_complete = done
            ),
            item.clone(),
            quote! {
                #item

                #[allow(non_camel_case_types, dead_code)]
                #[doc(hidden)]
                struct plain {}

                impl ::uplift::FileRoute for plain {
                    fn route() -> ::uplift::__private::Route {
                        ::uplift::__private::RouteBuilder::new(
                            ::uplift::RouteConfig::new("plain")
                                .file_type(::uplift::TypeRule::new(::uplift::FileType::Pdf).min_file_count(0u32).content_disposition(::uplift::ContentDisposition::Attachment))
                        )
                        .middleware::<::uplift::NoInput, _, _, _, _>(|_req: ::uplift::__private::HttpRequest, _input: ::uplift::NoInput, files: ::uplift::PendingFiles| async move {
                            let __uplift_returned = plain().await;
                            ::uplift::__private::middleware_output(__uplift_returned).map(|meta| (meta, files))
                        })
                        .on_upload_complete(done)
                        .build()
                    }
                }
            },
        );
    }

    #[test]
    fn arguments_follow_the_users_order_and_references() {
        let item = quote! {
            #[cfg(feature = "uploads")]
            pub(crate) async fn reordered(files: &PendingFiles, input: &Input, req: &mut HttpRequest) -> Result<(), E> { Ok(()) }
        };
        let expanded =
            expand(quote!(blob, slug = "x", on_upload_complete = done), item).to_string();
        let params = quote! {
            |mut req: ::uplift::__private::HttpRequest, input: Input, files: ::uplift::PendingFiles| async move
        };
        assert!(expanded.contains(&params.to_string()), "{expanded}");
        let call = quote!(let __uplift_returned = reordered(&files, &input, &mut req).await;);
        assert!(expanded.contains(&call.to_string()), "{expanded}");
        // `#[cfg]` goes with the function to the struct and the impl.
        let cfg = quote!(#[cfg(feature = "uploads")]).to_string();
        assert_eq!(expanded.matches(&cfg).count(), 3, "{expanded}");
        assert!(expanded.contains(
            &quote!(
                pub(crate) struct reordered {}
            )
            .to_string()
        ));
        assert!(expanded.contains(&quote!(RouteConfig::new("x")).to_string()));
    }

    #[test]
    fn errors_keep_the_function_and_a_stand_in_route() {
        let item = quote! {
            fn broken() -> Result<(), E> { Ok(()) }
        };
        let expanded = expand(quote!(imag, max_file_size = 3), item.clone()).to_string();
        assert!(expanded.starts_with(&item.to_string()), "{expanded}");
        assert!(expanded.contains(
            &quote!(
                fn route() -> ::uplift::__private::Route {
                    ::core::unreachable!()
                }
            )
            .to_string()
        ));
        // One `compile_error!` per problem: the unknown type, the misplaced option, the
        // missing hook, the missing `async`.
        assert_eq!(expanded.matches("compile_error").count(), 4, "{expanded}");
    }

    #[test]
    fn methods_and_non_functions_get_no_struct() {
        let method = quote!(
            async fn m(&self) -> Result<(), E> {
                Ok(())
            }
        );
        let expanded = expand(quote!(image, on_upload_complete = done), method).to_string();
        assert!(!expanded.contains("struct"), "{expanded}");
        assert_eq!(expanded.matches("compile_error").count(), 1);

        let not_a_fn = quote!(
            struct S;
        );
        let expanded = expand(quote!(image, on_upload_complete = done), not_a_fn).to_string();
        assert!(expanded.starts_with("struct S ;"), "{expanded}");
        assert_eq!(expanded.matches("compile_error").count(), 1);
    }

    #[test]
    fn the_doc_comment_becomes_the_routes_description() {
        let item = quote! {
            /// Up to four images.
            ///
            ///  Indented.
            #[doc = "Last."]
            #[doc = include_str!("not read")]
            async fn media() -> Result<(), E> { Ok(()) }
        };
        let expanded = expand(quote!(image, on_upload_complete = done), item).to_string();
        let description =
            quote!(.description("Up to four images.\n\n Indented.\nLast.")).to_string();
        assert!(expanded.contains(&description), "{expanded}");

        let undocumented = quote!(
            async fn plain() -> Result<(), E> {
                Ok(())
            }
        );
        let expanded = expand(quote!(image, on_upload_complete = done), undocumented).to_string();
        assert!(!expanded.contains("description"), "{expanded}");
    }

    #[test]
    fn a_derived_reserved_slug_is_refused() {
        let expanded = expand(
            quote!(image, on_upload_complete = done),
            quote!(
                async fn upload() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(
            expanded.contains("which is reserved for a built-in endpoint"),
            "{expanded}"
        );
        let renamed = expand(
            quote!(image, slug = "uploads", on_upload_complete = done),
            quote!(
                async fn upload() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(!renamed.contains("compile_error"), "{renamed}");
    }
}
