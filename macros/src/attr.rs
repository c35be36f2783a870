//! The `#[file_route(...)]` attribute: its syntax, then what it means.
//!
//! Parsing is two steps. [`Entry`] is the bare syntax (`name`, `name = value`, `name(...)`,
//! `"string"`), so that a misspelt option is still parsed and can be reported with a
//! suggestion. [`parse`] then gives the entries their meaning and checks them, collecting every
//! error instead of stopping at the first.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, Ident, Lit, LitStr, Token};

use crate::errors::Errors;
use crate::size::parse_size;
use crate::suggest::{closest, list};

/// The file-type shorthands, in documentation order.
const SHORTHANDS: [&str; 6] = ["image", "video", "audio", "pdf", "text", "blob"];
/// Options a whole route takes.
const ROUTE_OPTIONS: [&str; 7] = [
    "await_server_data",
    "max_total_file_count",
    "max_total_size",
    "slug",
    "on_upload_complete",
    "on_upload_error",
    "on_delete",
];
/// Slugs the runtime serves built-in endpoints under; mirrors `uplift::RESERVED_SLUGS`,
/// which `Router::route` enforces at run time. Refusing them here turns a panic at startup into
/// a compile error.
pub(crate) const RESERVED_SLUGS: [&str; 7] = [
    "files",
    "upload",
    "download",
    "docs",
    "tus",
    "objects",
    "uploadthing",
];

/// Options one file type takes, inside its parentheses.
const TYPE_OPTIONS: [&str; 5] = [
    "max_file_size",
    "max_file_count",
    "min_file_count",
    "content_disposition",
    "acl",
];

/// What the attribute declares, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RouteAttr {
    /// `slug = "..."`; the function name in lowerCamelCase otherwise.
    pub(crate) slug: Option<String>,
    pub(crate) types: Vec<TypeRule>,
    pub(crate) await_server_data: Option<bool>,
    pub(crate) max_total_file_count: Option<u32>,
    pub(crate) max_total_size: Option<u64>,
    pub(crate) on_upload_complete: ExprPath,
    pub(crate) on_upload_error: Option<ExprPath>,
    pub(crate) on_delete: Option<ExprPath>,
}

/// One accepted file type; `None` means "the runtime's default".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypeRule {
    pub(crate) file_type: FileType,
    pub(crate) max_file_size: Option<u64>,
    pub(crate) max_file_count: Option<u32>,
    pub(crate) min_file_count: Option<u32>,
    pub(crate) content_disposition: Option<ContentDisposition>,
    pub(crate) acl: Option<Acl>,
}

impl TypeRule {
    fn new(file_type: FileType) -> Self {
        TypeRule {
            file_type,
            max_file_size: None,
            max_file_count: None,
            min_file_count: None,
            content_disposition: None,
            acl: None,
        }
    }
}

/// Mirrors `uplift::FileType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileType {
    Image,
    Video,
    Audio,
    Pdf,
    Text,
    Blob,
    /// Lower-cased, validated `type/subtype` or `type/*`.
    Mime(String),
}

impl FileType {
    fn from_shorthand(name: &str) -> Option<Self> {
        Some(match name {
            "image" => FileType::Image,
            "video" => FileType::Video,
            "audio" => FileType::Audio,
            "pdf" => FileType::Pdf,
            "text" => FileType::Text,
            "blob" => FileType::Blob,
            _ => return None,
        })
    }

    /// The MIME pattern the type stands for; two types with the same pattern are duplicates.
    fn pattern(&self) -> &str {
        match self {
            FileType::Image => "image/*",
            FileType::Video => "video/*",
            FileType::Audio => "audio/*",
            FileType::Pdf => "application/pdf",
            FileType::Text => "text/*",
            FileType::Blob => "*/*",
            FileType::Mime(m) => m,
        }
    }

    /// How the user wrote it: `image` or `"image/png"`.
    fn describe(&self) -> String {
        match self {
            FileType::Image => "`image`".into(),
            FileType::Video => "`video`".into(),
            FileType::Audio => "`audio`".into(),
            FileType::Pdf => "`pdf`".into(),
            FileType::Text => "`text`".into(),
            FileType::Blob => "`blob`".into(),
            FileType::Mime(m) => format!("`\"{m}\"`"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentDisposition {
    Inline,
    Attachment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acl {
    PublicRead,
    Private,
}

/// One comma-separated entry, at the top level or inside a file type's parentheses.
enum Entry {
    /// `"image/*"`
    Str(LitStr),
    /// `image`, `await_server_data`
    Flag(Ident),
    /// `max_total_size = "300MB"`, `on_upload_complete = path::to::hook`
    Assign { key: Ident, value: Expr },
    /// `image(max_file_count = 4)`, `mime("application/json", acl = "private")`
    Call {
        name: Ident,
        args: Punctuated<Entry, Token![,]>,
    },
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return input.parse().map(Entry::Str);
        }
        if !input.peek(Ident::peek_any) {
            return Err(input.error(
                "expected a file type like `image` or `\"image/png\"`, or an option like `on_upload_complete = my_hook`",
            ));
        }
        let key = input.call(Ident::parse_any)?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let value = input.parse()?;
            Ok(Entry::Assign { key, value })
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let args = content.parse_terminated(Entry::parse, Token![,])?;
            Ok(Entry::Call { name: key, args })
        } else {
            Ok(Entry::Flag(key))
        }
    }
}

/// Parses and checks the attribute's tokens. The error combines every problem found.
///
/// `metadata` names the middleware's metadata type in the "missing hook" help, when the
/// return type shows it.
pub(crate) fn parse(tokens: TokenStream, metadata: Option<&str>) -> syn::Result<RouteAttr> {
    let entries = Punctuated::<Entry, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut cx = Context {
        metadata: metadata.unwrap_or("Metadata").to_string(),
        ..Context::default()
    };
    for entry in entries {
        cx.route_entry(entry);
    }
    cx.finish()
}

/// Everything gathered so far, and the errors.
#[derive(Default)]
struct Context {
    errors: Errors,
    /// Route options set so far, to refuse a second one.
    seen: Vec<String>,
    types: Vec<(TypeRule, Span)>,
    /// Some entry looked like a file type, even if a wrong one: no "no file types" error then.
    attempted_type: bool,
    /// Something looked like a misspelt `on_upload_complete`: no "missing hook" error then.
    attempted_completion_hook: bool,
    /// The metadata type's name, for help texts.
    metadata: String,
    slug: Option<String>,
    await_server_data: Option<bool>,
    max_total_file_count: Option<(u32, Span)>,
    max_total_size: Option<u64>,
    on_upload_complete: Option<ExprPath>,
    on_upload_error: Option<ExprPath>,
    on_delete: Option<ExprPath>,
}

impl Context {
    fn route_entry(&mut self, entry: Entry) {
        match entry {
            Entry::Str(lit) => {
                self.attempted_type = true;
                if let Some(mime) = self.mime(&lit) {
                    self.add_type(TypeRule::new(FileType::Mime(mime)), lit.span());
                }
            }
            Entry::Flag(ident) => {
                let name = ident.unraw().to_string();
                if let Some(file_type) = FileType::from_shorthand(&name) {
                    self.attempted_type = true;
                    self.add_type(TypeRule::new(file_type), ident.span());
                } else if name == "await_server_data" {
                    if self.first(&ident) {
                        self.await_server_data = Some(true);
                    }
                } else if name == "mime" {
                    self.attempted_type = true;
                    self.errors.at(ident.span(), "`mime` needs a MIME type: write `mime(\"application/json\")`, or just the string `\"application/json\"`");
                } else if ROUTE_OPTIONS.contains(&name.as_str()) {
                    self.attempted_completion_hook |= name == "on_upload_complete";
                    self.errors.at(
                        ident.span(),
                        format!("`{name}` needs a value: {}", route_option_example(&name)),
                    );
                } else {
                    self.unknown_route_entry(&ident, &name, false);
                }
            }
            Entry::Assign { key, value } => self.route_option(key, value),
            Entry::Call { name: ident, args } => self.route_call(&ident, args),
        }
    }

    /// `image(...)`, `mime(...)`, or a mistake of that shape.
    fn route_call(&mut self, ident: &Ident, args: Punctuated<Entry, Token![,]>) {
        let name = ident.unraw().to_string();
        if let Some(file_type) = FileType::from_shorthand(&name) {
            self.attempted_type = true;
            let rule = self.type_options(TypeRule::new(file_type), &name, args);
            self.add_type(rule, ident.span());
        } else if name == "mime" {
            self.attempted_type = true;
            self.mime_call(ident, args);
        } else if ROUTE_OPTIONS.contains(&name.as_str()) {
            self.attempted_completion_hook |= name == "on_upload_complete";
            self.errors.at(
                ident.span(),
                format!(
                    "`{name}` takes a value, not parentheses: {}",
                    route_option_example(&name)
                ),
            );
        } else {
            self.unknown_route_entry(ident, &name, false);
        }
    }

    /// `mime("type/subtype", options...)`.
    fn mime_call(&mut self, ident: &Ident, args: Punctuated<Entry, Token![,]>) {
        let mut args = args.into_iter().peekable();
        let lit = match args.next_if(|a| matches!(a, Entry::Str(_))) {
            Some(Entry::Str(lit)) => Some(lit),
            _ => {
                self.errors.at(
                    ident.span(),
                    "`mime(...)` needs the MIME type first, like `mime(\"application/json\", max_file_size = \"1MB\")`",
                );
                None
            }
        };
        let mime = lit.as_ref().and_then(|lit| self.mime(lit));
        // The options are checked even when the MIME type is wrong, to report everything.
        let rule = TypeRule::new(FileType::Mime(mime.clone().unwrap_or_default()));
        let rule = self.type_options(rule, "mime", args);
        if let (Some(_), Some(lit)) = (mime, lit) {
            self.add_type(rule, lit.span());
        }
    }

    fn route_option(&mut self, key: Ident, value: Expr) {
        let name = key.unraw().to_string();
        if !ROUTE_OPTIONS.contains(&name.as_str()) {
            if FileType::from_shorthand(&name).is_some() || name == "mime" {
                self.attempted_type = true;
                self.errors.at(
                    key.span(),
                    format!("a file type takes its options in parentheses: `{name}(max_file_size = \"4MB\")`, or just `{name}` for the defaults"),
                );
            } else {
                self.unknown_route_entry(&key, &name, true);
            }
            return;
        }
        if name == "on_upload_complete" {
            self.attempted_completion_hook = true;
        }
        if !self.first(&key) {
            return;
        }
        match name.as_str() {
            "await_server_data" => self.await_server_data = self.bool(&key, &value),
            "max_total_file_count" => {
                self.max_total_file_count = self.count(&key, &value, 1).map(|n| (n, value.span()));
            }
            "max_total_size" => self.max_total_size = self.size(&key, &value),
            "slug" => self.slug = self.slug(&value),
            "on_upload_complete" => self.on_upload_complete = self.hook(&key, value),
            "on_upload_error" => self.on_upload_error = self.hook(&key, value),
            "on_delete" => self.on_delete = self.hook(&key, value),
            _ => unreachable!("all route options are handled"),
        }
    }

    /// A name that is neither a file type nor a route option.
    fn unknown_route_entry(&mut self, ident: &Ident, name: &str, is_assignment: bool) {
        if TYPE_OPTIONS.contains(&name) {
            self.errors.at(
                ident.span(),
                format!(
                    "`{name}` is an option of each file type, not of the route: put it in the file type's parentheses, like `image({name} = {})`",
                    type_option_example_value(name)
                ),
            );
            return;
        }
        let mut candidates: Vec<&str> = SHORTHANDS.to_vec();
        candidates.push("mime");
        candidates.extend(ROUTE_OPTIONS);
        let suggestion = closest(name, &candidates);
        self.attempted_completion_hook |= suggestion == Some("on_upload_complete");
        let suggests_option = suggestion.is_some_and(|s| ROUTE_OPTIONS.contains(&s));
        self.attempted_type |= !suggests_option;
        let what = match (suggestion, is_assignment) {
            (Some(_), _) if suggests_option => "option",
            (Some(_), _) => "file type",
            (None, true) => "option",
            (None, false) => "file type or option",
        };
        let did_you_mean = suggestion
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        self.errors.at(
            ident.span(),
            format!(
                "unknown {what} `{name}`{did_you_mean}\n\
                 file types: {}, `mime(\"type/subtype\")` or a MIME string like `\"image/*\"`\n\
                 route options: {}",
                SHORTHANDS.map(|s| format!("`{s}`")).join(", "),
                list(&ROUTE_OPTIONS)
            ),
        );
    }

    /// The options inside `image(...)` or after the MIME type in `mime("...", ...)`.
    fn type_options(
        &mut self,
        mut rule: TypeRule,
        type_name: &str,
        args: impl IntoIterator<Item = Entry>,
    ) -> TypeRule {
        let mut seen: Vec<String> = Vec::new();
        let mut min_count: Option<(u32, Span)> = None;
        for arg in args {
            let (key, value) = match arg {
                Entry::Assign { key, value } => (key, value),
                Entry::Str(lit) => {
                    let message = if type_name == "mime" {
                        "`mime(...)` takes one MIME type; write another `mime(...)` for a second one".to_string()
                    } else {
                        format!(
                            "`{type_name}(...)` takes options only; for a specific MIME type write `mime({})`",
                            quote_lit(&lit)
                        )
                    };
                    self.errors.at(lit.span(), message);
                    continue;
                }
                Entry::Flag(ident) | Entry::Call { name: ident, .. } => {
                    let name = ident.unraw().to_string();
                    let message = if TYPE_OPTIONS.contains(&name.as_str()) {
                        format!(
                            "`{name}` needs a value: `{name} = {}`",
                            type_option_example_value(&name)
                        )
                    } else {
                        unknown_type_option_message(&name, type_name)
                    };
                    self.errors.at(ident.span(), message);
                    continue;
                }
            };
            let name = key.unraw().to_string();
            if !TYPE_OPTIONS.contains(&name.as_str()) {
                let message = if ROUTE_OPTIONS.contains(&name.as_str()) {
                    format!("`{name}` is an option of the route, not of one file type: move it out of `{type_name}(...)`")
                } else {
                    unknown_type_option_message(&name, type_name)
                };
                self.errors.at(key.span(), message);
                continue;
            }
            if seen.contains(&name) {
                self.errors.at(
                    key.span(),
                    format!("duplicate option `{name}`: it is already set for this file type"),
                );
                continue;
            }
            seen.push(name.clone());
            match name.as_str() {
                "max_file_size" => rule.max_file_size = self.size(&key, &value),
                "max_file_count" => rule.max_file_count = self.count(&key, &value, 1),
                "min_file_count" => {
                    rule.min_file_count = self.count(&key, &value, 0);
                    min_count = rule.min_file_count.map(|n| (n, value.span()));
                }
                "content_disposition" => {
                    rule.content_disposition = self.choice(
                        &key,
                        &value,
                        &[
                            ("inline", ContentDisposition::Inline),
                            ("attachment", ContentDisposition::Attachment),
                        ],
                    );
                }
                "acl" => {
                    rule.acl = self.choice(
                        &key,
                        &value,
                        &[("public-read", Acl::PublicRead), ("private", Acl::Private)],
                    );
                }
                _ => unreachable!("all type options are handled"),
            }
        }
        if let Some((min, span)) = min_count {
            let max = rule.max_file_count;
            if min > max.unwrap_or(1) {
                let message = match max {
                    Some(max) => format!(
                        "min_file_count ({min}) is greater than max_file_count ({max}): no upload could satisfy both"
                    ),
                    None => format!(
                        "min_file_count ({min}) is greater than max_file_count (1, the default): \
                         raise max_file_count as well, like `{type_name}(max_file_count = {min}, min_file_count = {min})`"
                    ),
                };
                self.errors.at(span, message);
            }
        }
        rule
    }

    fn add_type(&mut self, rule: TypeRule, span: Span) {
        let pattern = rule.file_type.pattern();
        if let Some((first, _)) = self
            .types
            .iter()
            .find(|(r, _)| r.file_type.pattern() == pattern)
        {
            let message = if first.file_type == rule.file_type {
                format!(
                    "duplicate file type {}: it is already declared above; put all its options in one declaration",
                    rule.file_type.describe()
                )
            } else {
                format!(
                    "{} is the same file type as {}, already declared above",
                    rule.file_type.describe(),
                    first.file_type.describe()
                )
            };
            self.errors.at(span, message);
            return;
        }
        self.types.push((rule, span));
    }

    /// Records a route option; `false` (with an error) when it was already set.
    fn first(&mut self, key: &Ident) -> bool {
        let name = key.unraw().to_string();
        if self.seen.contains(&name) {
            self.errors.at(
                key.span(),
                format!("duplicate option `{name}`: it is already set above"),
            );
            return false;
        }
        self.seen.push(name);
        true
    }

    fn mime(&mut self, lit: &LitStr) -> Option<String> {
        validate_mime(&lit.value())
            .map_err(|m| self.errors.at(lit.span(), m))
            .ok()
    }

    fn size(&mut self, key: &Ident, value: &Expr) -> Option<u64> {
        match unwrap_expr(value) {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => parse_size(&lit.value())
                .map_err(|m| self.errors.at(lit.span(), m))
                .ok(),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(int), ..
            }) => {
                let hint = if int.suffix().is_empty() {
                    format!("\"{}B\"", int.base10_digits())
                } else {
                    format!("\"{int}\"")
                };
                self.errors.at(
                    int.span(),
                    format!("write `{key}` as a string with a unit: `{key} = {hint}`"),
                );
                None
            }
            Expr::Lit(syn::ExprLit {
                lit: Lit::Float(float),
                ..
            }) => {
                self.errors.at(
                    float.span(),
                    format!("write `{key}` as a string with a unit: `{key} = \"{float}\"`"),
                );
                None
            }
            other => {
                self.errors.spanning(
                    other,
                    format!("`{key}` must be a string like \"4MB\" or \"1.5GB\""),
                );
                None
            }
        }
    }

    /// A whole number of at least `min` that fits a `u32`.
    fn count(&mut self, key: &Ident, value: &Expr, min: u32) -> Option<u32> {
        let at_least = if min == 0 {
            "0 or more".to_string()
        } else {
            format!("at least {min}")
        };
        match unwrap_expr(value) {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(int), ..
            }) => match int.base10_parse::<u32>() {
                Ok(0) if min > 0 => {
                    let hint = if key == "max_file_count" {
                        "; to refuse a file type, leave it out"
                    } else {
                        ""
                    };
                    self.errors
                        .at(int.span(), format!("`{key}` must be {at_least}{hint}"));
                    None
                }
                Ok(n) => Some(n),
                Err(_) => {
                    self.errors.at(
                        int.span(),
                        format!("`{key}` must be a whole number from {min} to {}", u32::MAX),
                    );
                    None
                }
            },
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                ..
            }) => {
                self.errors
                    .spanning(value, format!("`{key}` must be {at_least}"));
                None
            }
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                self.errors.at(
                    lit.span(),
                    format!(
                        "`{key}` is a number, not a string: `{key} = {}`",
                        lit.value()
                    ),
                );
                None
            }
            other => {
                self.errors
                    .spanning(other, format!("`{key}` must be a whole number, {at_least}"));
                None
            }
        }
    }

    fn bool(&mut self, key: &Ident, value: &Expr) -> Option<bool> {
        match unwrap_expr(value) {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Bool(b), ..
            }) => Some(b.value),
            other => {
                self.errors.spanning(
                    other,
                    format!("`{key}` must be `true` or `false` (or write just `{key}` for true)"),
                );
                None
            }
        }
    }

    /// One of a few fixed strings.
    fn choice<T: Copy>(&mut self, key: &Ident, value: &Expr, choices: &[(&str, T)]) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let expected = quoted.join(" or ");
        match unwrap_expr(value) {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                let text = lit.value();
                if let Some((_, v)) = choices.iter().find(|(n, _)| *n == text) {
                    return Some(*v);
                }
                let did_you_mean = closest(&text, &names)
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                self.errors.at(
                    lit.span(),
                    format!("invalid {key} \"{text}\": expected {expected}{did_you_mean}"),
                );
                None
            }
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let text = p.path.get_ident().expect("checked").to_string();
                let fix = closest(&text.replace('_', "-"), &names).unwrap_or(names[0]);
                self.errors.at(
                    p.span(),
                    format!("`{key}` takes a string: `{key} = \"{fix}\"`"),
                );
                None
            }
            other => {
                self.errors
                    .spanning(other, format!("`{key}` must be {expected}"));
                None
            }
        }
    }

    fn slug(&mut self, value: &Expr) -> Option<String> {
        match unwrap_expr(value) {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                let slug = lit.value();
                let valid = !slug.is_empty()
                    && slug
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if RESERVED_SLUGS.contains(&slug.as_str()) {
                    self.errors.at(
                        lit.span(),
                        format!("the slug \"{slug}\" is reserved for a built-in endpoint: choose another"),
                    );
                    None
                } else if valid {
                    Some(slug)
                } else {
                    self.errors.at(
                        lit.span(),
                        format!("invalid slug \"{slug}\": use only letters, digits, `-` and `_` (it becomes part of the upload URL)"),
                    );
                    None
                }
            }
            other => {
                self.errors
                    .spanning(other, "`slug` must be a string like \"profilePicture\"");
                None
            }
        }
    }

    fn hook(&mut self, key: &Ident, value: Expr) -> Option<ExprPath> {
        match value {
            Expr::Path(path) => Some(path),
            Expr::Group(group) => self.hook(key, *group.expr),
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                self.errors.at(
                    lit.span(),
                    format!(
                        "`{key}` takes the hook function itself, not a string: `{key} = {}`",
                        lit.value()
                    ),
                );
                None
            }
            other => {
                self.errors.spanning(
                    &other,
                    format!(
                        "`{key}` must name an async function, like `{key} = crate::hooks::saved`"
                    ),
                );
                None
            }
        }
    }

    fn finish(mut self) -> syn::Result<RouteAttr> {
        if self.types.is_empty() && !self.attempted_type {
            self.errors.at(
                Span::call_site(),
                format!(
                    "a file route must accept at least one file type: add {}, or `mime(\"type/subtype\")`, \
                     like `#[uplift::file_route(image, on_upload_complete = saved)]`",
                    list(&SHORTHANDS)
                ),
            );
        }
        if self.on_upload_complete.is_none() && !self.attempted_completion_hook {
            self.errors.at(
                Span::call_site(),
                format!(
                    "missing `on_upload_complete = ...`: every file route needs a completion hook, which \
                     receives the middleware's metadata and the stored file, and returns the data the \
                     client receives (any `Serialize` type), like\n    \
                     async fn saved(metadata: {}, file: uplift::UploadedFile) -> Result<ServerData, uplift::UploadError>",
                    self.metadata
                ),
            );
        }
        // A type's minimum applies when files of that type are sent; one above the route's
        // total makes the type impossible to upload.
        if let Some((total, span)) = self.max_total_file_count {
            for (rule, _) in &self.types {
                let min = rule.min_file_count.unwrap_or(1);
                if min > total {
                    self.errors.at(
                        span,
                        format!(
                            "max_total_file_count ({total}) is less than the min_file_count of {} ({min}): \
                             no upload could include {} files",
                            rule.file_type.describe(),
                            rule.file_type.describe()
                        ),
                    );
                }
            }
        }
        self.errors.finish()?;
        Ok(RouteAttr {
            slug: self.slug,
            types: self.types.into_iter().map(|(r, _)| r).collect(),
            await_server_data: self.await_server_data,
            max_total_file_count: self.max_total_file_count.map(|(n, _)| n),
            max_total_size: self.max_total_size,
            on_upload_complete: self.on_upload_complete.expect("checked above"),
            on_upload_error: self.on_upload_error,
            on_delete: self.on_delete,
        })
    }
}

fn unknown_type_option_message(name: &str, type_name: &str) -> String {
    let did_you_mean = closest(name, &TYPE_OPTIONS)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!(
        "unknown option `{name}` for `{type_name}(...)`{did_you_mean}\nfile type options: {}",
        list(&TYPE_OPTIONS)
    )
}

fn route_option_example(name: &str) -> String {
    match name {
        "max_total_file_count" => "`max_total_file_count = 5`".into(),
        "max_total_size" => "`max_total_size = \"100MB\"`".into(),
        "slug" => "`slug = \"profilePicture\"`".into(),
        "await_server_data" => "`await_server_data = true`".into(),
        hook => format!("`{hook} = my_hook`"),
    }
}

fn type_option_example_value(name: &str) -> &'static str {
    match name {
        "max_file_size" => "\"4MB\"",
        "max_file_count" => "4",
        "min_file_count" => "0",
        "content_disposition" => "\"attachment\"",
        _ => "\"private\"",
    }
}

fn quote_lit(lit: &LitStr) -> String {
    format!("{:?}", lit.value())
}

/// Sees through the invisible groups `macro_rules!` wraps `$value:expr` in, and parentheses.
fn unwrap_expr(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(g) => unwrap_expr(&g.expr),
        Expr::Paren(p) => unwrap_expr(&p.expr),
        other => other,
    }
}

/// `type/subtype` or `type/*` (or `*/*`), each part an RFC 6838 restricted name; lower-cased.
pub(crate) fn validate_mime(text: &str) -> Result<String, String> {
    let expected = "expected `type/subtype` or `type/*`, like \"application/json\" or \"image/*\"";
    if let Some((essence, _)) = text.split_once(';') {
        return Err(format!(
            "MIME type `{text}` has parameters, which file routes do not match on: write just \"{}\"",
            essence.trim()
        ));
    }
    let Some((top, sub)) = text.split_once('/') else {
        return Err(format!("invalid MIME type `{text}`: {expected}"));
    };
    let restricted_name = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
            && s.len() <= 127
    };
    let valid = match (top, sub) {
        ("*", "*") => true,
        ("*", _) => false,
        (top, "*") => restricted_name(top),
        (top, sub) => restricted_name(top) && restricted_name(sub),
    };
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!("invalid MIME type `{text}`: {expected}"))
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse_ok(tokens: TokenStream) -> RouteAttr {
        match parse(tokens, None) {
            Ok(route) => route,
            Err(e) => panic!("unexpected errors: {:?}", messages(e)),
        }
    }

    fn messages(error: syn::Error) -> Vec<String> {
        error.into_iter().map(|e| e.to_string()).collect()
    }

    fn errors(tokens: TokenStream) -> Vec<String> {
        messages(parse(tokens, None).expect_err("expected errors"))
    }

    fn rule(file_type: FileType) -> TypeRule {
        TypeRule::new(file_type)
    }

    #[test]
    fn the_full_grammar() {
        let route = parse_ok(quote! {
            image(max_file_size = "2MB", max_file_count = 4),
            video(max_file_size = "256MB", min_file_count = 0),
            mime("Application/JSON", max_file_size = "1MB", acl = "private", content_disposition = "attachment"),
            "font/*",
            pdf, text, audio, blob,
            await_server_data,
            max_total_file_count = 5,
            max_total_size = "300MB",
            slug = "customSlug",
            on_upload_complete = path::to::hook,
            on_upload_error = err_hook,
        });
        let expected_types = vec![
            TypeRule {
                max_file_size: Some(2 << 20),
                max_file_count: Some(4),
                ..rule(FileType::Image)
            },
            TypeRule {
                max_file_size: Some(256 << 20),
                min_file_count: Some(0),
                ..rule(FileType::Video)
            },
            TypeRule {
                max_file_size: Some(1 << 20),
                acl: Some(Acl::Private),
                content_disposition: Some(ContentDisposition::Attachment),
                ..rule(FileType::Mime("application/json".into()))
            },
            rule(FileType::Mime("font/*".into())),
            rule(FileType::Pdf),
            rule(FileType::Text),
            rule(FileType::Audio),
            rule(FileType::Blob),
        ];
        assert_eq!(route.types, expected_types);
        assert_eq!(route.await_server_data, Some(true));
        assert_eq!(route.max_total_file_count, Some(5));
        assert_eq!(route.max_total_size, Some(300 << 20));
        assert_eq!(route.slug.as_deref(), Some("customSlug"));
        let hook = &route.on_upload_complete;
        assert_eq!(quote!(#hook).to_string(), "path :: to :: hook");
        assert!(route.on_upload_error.is_some());
    }

    #[test]
    fn only_given_values_are_recorded() {
        let route = parse_ok(quote!(image, on_upload_complete = done));
        assert_eq!(route.types, vec![rule(FileType::Image)]);
        assert_eq!(route.await_server_data, None);
        assert_eq!(route.max_total_file_count, None);
        assert_eq!(route.max_total_size, None);
        assert_eq!(route.slug, None);
        assert!(route.on_upload_error.is_none());
    }

    #[test]
    fn flags_take_explicit_booleans_and_trailing_commas_are_fine() {
        let off = parse_ok(quote!(
            pdf,
            await_server_data = false,
            on_upload_complete = done,
        ));
        assert_eq!(off.await_server_data, Some(false));
        let on = parse_ok(quote!(
            pdf,
            await_server_data = true,
            on_upload_complete = done
        ));
        assert_eq!(on.await_server_data, Some(true));
    }

    #[test]
    fn the_explicit_default_values_are_accepted() {
        let route = parse_ok(quote! {
            image(acl = "public-read", content_disposition = "inline", max_file_count = 1, min_file_count = 1),
            on_upload_complete = done,
        });
        assert_eq!(route.types[0].acl, Some(Acl::PublicRead));
        assert_eq!(
            route.types[0].content_disposition,
            Some(ContentDisposition::Inline)
        );
    }

    #[test]
    fn bad_sizes_are_reported_with_the_expected_format() {
        assert_eq!(
            errors(quote!(image(max_file_size = "2XB"), on_upload_complete = done)),
            ["invalid size `2XB`: expected a number followed by B, KB, MB, GB or TB, like \"4MB\" or \"1.5GB\""]
        );
        assert_eq!(
            errors(quote!(
                image(max_file_size = 2MB),
                on_upload_complete = done
            )),
            ["write `max_file_size` as a string with a unit: `max_file_size = \"2MB\"`"]
        );
    }

    #[test]
    fn min_above_max_mentions_both_numbers() {
        assert_eq!(
            errors(quote!(image(min_file_count = 2), on_upload_complete = done)),
            ["min_file_count (2) is greater than max_file_count (1, the default): raise max_file_count \
              as well, like `image(max_file_count = 2, min_file_count = 2)`"]
        );
        assert_eq!(
            errors(quote!(video(min_file_count = 5, max_file_count = 3), on_upload_complete = done)),
            ["min_file_count (5) is greater than max_file_count (3): no upload could satisfy both"]
        );
        // Equal is fine, and so is zero.
        parse_ok(quote!(
            video(min_file_count = 3, max_file_count = 3),
            audio(min_file_count = 0),
            on_upload_complete = done
        ));
    }

    #[test]
    fn a_type_declared_twice_is_refused_at_the_second() {
        assert_eq!(
            errors(quote!(image, image(max_file_count = 2), on_upload_complete = done)),
            ["duplicate file type `image`: it is already declared above; put all its options in one declaration"]
        );
        assert_eq!(
            errors(quote!("text/csv", mime("TEXT/CSV"), on_upload_complete = done)),
            ["duplicate file type `\"text/csv\"`: it is already declared above; put all its options in one declaration"]
        );
        assert_eq!(
            errors(quote!(blob, "*/*", on_upload_complete = done)),
            ["`\"*/*\"` is the same file type as `blob`, already declared above"]
        );
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let e = errors(quote!(imag, on_upload_complete = done));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with(
                "unknown file type `imag`; did you mean `image`?\nfile types: `image`, `video`"
            ),
            "{e:?}"
        );
        let e = errors(quote!(image(max_size = "2MB"), on_upload_complete = done));
        assert_eq!(
            e,
            ["unknown option `max_size` for `image(...)`; did you mean `max_file_size`?\n\
              file type options: `max_file_size`, `max_file_count`, `min_file_count`, `content_disposition` or `acl`"]
        );
        let e = errors(quote!(image, on_upload_complet = done));
        assert_eq!(
            e.len(),
            1,
            "a misspelt hook is not also reported missing: {e:?}"
        );
        assert!(e[0]
            .starts_with("unknown option `on_upload_complet`; did you mean `on_upload_complete`?"));
        let e = errors(quote!(image, colour = "red", on_upload_complete = done));
        assert!(e[0].starts_with("unknown option `colour`\n"), "{e:?}");
    }

    #[test]
    fn options_in_the_wrong_place_say_where_they_go() {
        assert_eq!(
            errors(quote!(image, acl = "private", on_upload_complete = done)),
            ["`acl` is an option of each file type, not of the route: put it in the file type's \
              parentheses, like `image(acl = \"private\")`"]
        );
        assert_eq!(
            errors(quote!(image(on_upload_error = e), on_upload_complete = done)),
            ["`on_upload_error` is an option of the route, not of one file type: move it out of `image(...)`"]
        );
        assert_eq!(
            errors(quote!(image = "2MB", on_upload_complete = done)),
            ["a file type takes its options in parentheses: `image(max_file_size = \"4MB\")`, or just `image` for the defaults"]
        );
    }

    #[test]
    fn the_completion_hook_and_a_file_type_are_required() {
        let e = errors(quote!(image));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("missing `on_upload_complete = ...`"),
            "{e:?}"
        );
        assert!(e[0].contains("async fn saved(metadata: Metadata, file: uplift::UploadedFile)"));
        let e = messages(parse(quote!(image), Some("Session")).unwrap_err());
        assert!(e[0].contains("metadata: Session,"), "{e:?}");
        let e = errors(quote!(on_upload_complete = done));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("a file route must accept at least one file type"),
            "{e:?}"
        );
        // An empty attribute: both.
        assert_eq!(errors(quote!()).len(), 2);
    }

    #[test]
    fn bad_values() {
        let e = errors(quote! {
            image(acl = "public", content_disposition = "download", max_file_count = 0),
            mime("nonsense"),
            mime(acl = "private"),
            "text/plain; charset=utf-8",
            await_server_data = 1,
            max_total_file_count = 0,
            slug = "a/b",
            on_upload_complete = "done",
        });
        assert_eq!(
            e,
            [
                "invalid acl \"public\": expected \"public-read\" or \"private\"; did you mean \"public-read\"?",
                "invalid content_disposition \"download\": expected \"inline\" or \"attachment\"",
                "`max_file_count` must be at least 1; to refuse a file type, leave it out",
                "invalid MIME type `nonsense`: expected `type/subtype` or `type/*`, like \"application/json\" or \"image/*\"",
                "`mime(...)` needs the MIME type first, like `mime(\"application/json\", max_file_size = \"1MB\")`",
                "MIME type `text/plain; charset=utf-8` has parameters, which file routes do not match on: write just \"text/plain\"",
                "`await_server_data` must be `true` or `false` (or write just `await_server_data` for true)",
                "`max_total_file_count` must be at least 1",
                "invalid slug \"a/b\": use only letters, digits, `-` and `_` (it becomes part of the upload URL)",
                "`on_upload_complete` takes the hook function itself, not a string: `on_upload_complete = done`",
            ]
        );
    }

    #[test]
    fn duplicate_options_are_refused() {
        assert_eq!(
            errors(quote!(
                image(acl = "private", acl = "private"),
                on_upload_complete = done
            )),
            ["duplicate option `acl`: it is already set for this file type"]
        );
        assert_eq!(
            errors(quote!(
                image,
                slug = "a",
                slug = "b",
                on_upload_complete = done
            )),
            ["duplicate option `slug`: it is already set above"]
        );
        assert_eq!(
            errors(quote!(
                image,
                await_server_data,
                await_server_data = false,
                on_upload_complete = done
            )),
            ["duplicate option `await_server_data`: it is already set above"]
        );
    }

    #[test]
    fn reserved_slugs_are_refused() {
        assert_eq!(
            errors(quote!(image, slug = "upload", on_upload_complete = done)),
            ["the slug \"upload\" is reserved for a built-in endpoint: choose another"]
        );
    }

    #[test]
    fn a_type_the_route_total_forbids_is_refused() {
        assert_eq!(
            errors(quote!(image(max_file_count = 3, min_file_count = 3), max_total_file_count = 2, on_upload_complete = done)),
            ["max_total_file_count (2) is less than the min_file_count of `image` (3): no upload could include `image` files"]
        );
        parse_ok(quote!(
            image(max_file_count = 3, min_file_count = 2),
            video,
            max_total_file_count = 2,
            on_upload_complete = done
        ));
    }

    #[test]
    fn syntax_errors_stop_early() {
        assert_eq!(
            errors(quote!(image; on_upload_complete = done)),
            ["expected `,`"]
        );
        assert_eq!(
            errors(quote!(42)),
            ["expected a file type like `image` or `\"image/png\"`, or an option like `on_upload_complete = my_hook`"]
        );
    }

    #[test]
    fn mime_validation() {
        for ok in [
            "application/json",
            "image/*",
            "*/*",
            "application/vnd.ms-excel",
            "Image/PNG",
            "application/x+y",
        ] {
            assert_eq!(validate_mime(ok), Ok(ok.to_ascii_lowercase()), "{ok}");
        }
        for bad in [
            "",
            "image",
            "image/",
            "/png",
            "*/png",
            "image/png/x",
            "ima ge/png",
            "-x/y",
            "image/**",
        ] {
            assert!(validate_mime(bad).is_err(), "{bad}");
        }
    }
}
