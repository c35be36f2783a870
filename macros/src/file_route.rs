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
    let config = config(route, &func.sig.ident);
    let closure = middleware_closure(&func.sig.ident, middleware);
    let complete = &route.on_upload_complete;
    // The hooks keep the user's spans, so an unsatisfied `CompletionHook`/`ErrorHook` bound
    // (and its `on_unimplemented` message) points at the path in the attribute.
    let complete = quote_spanned!(complete.span()=> .on_upload_complete(#complete));
    let on_error = route
        .on_upload_error
        .as_ref()
        .map(|hook| quote_spanned!(hook.span()=> .on_upload_error(#hook)));
    quote! {
        ::uplift::__private::RouteBuilder::new(#config)
            .middleware(#closure)
            #complete
            #on_error
            .build()
    }
}

/// The lowerCamelCase of the function's name: `media_post` → `mediaPost`.
pub(crate) fn default_slug(name: &Ident) -> String {
    name.unraw().to_string().to_lower_camel_case()
}

fn config(route: &RouteAttr, name: &Ident) -> TokenStream {
    let slug = route.slug.clone().unwrap_or_else(|| default_slug(name));
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
        ::uplift::route::RouteConfig::new(#slug)
            #(.file_type(#types))*
            #await_server_data
            #max_total_file_count
            #max_total_size
    }
}

fn type_rule(rule: &TypeRule) -> TokenStream {
    let file_type = match &rule.file_type {
        FileType::Image => quote!(::uplift::route::FileType::Image),
        FileType::Video => quote!(::uplift::route::FileType::Video),
        FileType::Audio => quote!(::uplift::route::FileType::Audio),
        FileType::Pdf => quote!(::uplift::route::FileType::Pdf),
        FileType::Text => quote!(::uplift::route::FileType::Text),
        FileType::Blob => quote!(::uplift::route::FileType::Blob),
        FileType::Mime(mime) => {
            quote!(::uplift::route::FileType::Mime(::std::borrow::Cow::Borrowed(#mime)))
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
            quote!(.content_disposition(::uplift::route::ContentDisposition::Inline))
        }
        ContentDisposition::Attachment => {
            quote!(.content_disposition(::uplift::route::ContentDisposition::Attachment))
        }
    });
    let acl = rule.acl.map(|a| match a {
        Acl::PublicRead => quote!(.acl(::uplift::route::Acl::PublicRead)),
        Acl::Private => quote!(.acl(::uplift::route::Acl::Private)),
    });
    quote! {
        ::uplift::route::TypeRule::new(#file_type)
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
    let input_type = match &middleware.input {
        Some(ty) => quote!(#ty),
        None => quote!(::uplift::NoInput),
    };
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

/// `#[cfg(...)]` on the function applies to what is generated for it as well.
fn cfg_attrs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
}
