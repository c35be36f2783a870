//! Procedural macros for [uplift](https://docs.rs/uplift). Use them through the `uplift`
//! crate (`#[uplift::file_route(...)]`), which documents them; the generated code names
//! `::uplift` paths only.
//!
//! The entry points are thin wrappers over `proc_macro2` functions, so the expansion can be
//! unit-tested without a compiler in the loop.

#![deny(missing_docs)]

mod attr;
mod errors;
mod file_route;
mod signature;
mod size;
mod suggest;

use proc_macro::TokenStream;

/// Declares a file route from its middleware function. See `uplift::file_route`.
#[proc_macro_attribute]
pub fn file_route(attr: TokenStream, item: TokenStream) -> TokenStream {
    file_route::expand(attr.into(), item.into()).into()
}
