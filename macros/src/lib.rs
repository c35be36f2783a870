//! Placeholder until the real macro lands (being written now).
extern crate proc_macro;
use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn file_route(_attr: TokenStream, item: TokenStream) -> TokenStream { item }
