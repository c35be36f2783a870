//! TypeScript with ts-rs: `protocol.ts` (every wire DTO) and `router.ts` (one app's routes).
//!
//! `router.ts` declares the app's own input and server-data types (with the types they depend
//! on), imports the protocol types they use from `./protocol.js` (TypeScript maps the `.js` to
//! `protocol.ts`; the extension is what ES modules in Node need under `moduleResolution:
//! "NodeNext"`, and bundler resolution takes it as well), and ends with
//!
//! ```ts
//! export const routeConfig = { "mediaPost": { slug: …, types: […], … } } as const;
//! export type UploadRouter = {
//!   "mediaPost": { input: PostInput; serverData: PostMedia; awaitServerData: false; config: (typeof routeConfig)["mediaPost"] };
//! };
//! ```
//!
//! `u64`/`i64` become `number` (the wire carries JSON numbers), whatever `TS_RS_LARGE_INT` says.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use super::{canonical, ts_config, GeneratedFile, HEADER};
use crate::definition::NoInput;
pub use crate::describe::{describe, TsDecl, TsType};
use crate::error::{ErrorBody, ErrorCode, ErrorResponse};
use crate::protocol::ObjectList;
use crate::protocol::{
    DeleteResult, Deletion, FileChange, FileDeclaration, FileEnvelope, FileInfo, FileKind,
    FileList, FileObject, FileTypeConfig, Links, Meta, MultipartPlan, MultipartResponse, PartUrl,
    PartsRequest, PartsResponse, PostForm, PrepareRequest, PrepareResponse, PreparedUpload,
    RouteInfo, RouteUsage, RoutesResponse, SignedPost, SignedPut, UploadResult, UploadStatus,
    UploadToken, UploadedFile, UploadedPart, Usage,
};
use crate::route::{Acl, ContentDisposition};
use crate::router::Router;

/// Declarations keyed by name, refusing two different declarations under one name.
#[derive(Default)]
struct Decls(Vec<TsDecl>);

impl Decls {
    fn add(&mut self, decl: TsDecl, what: &str) {
        match self.0.iter().find(|d| d.name == decl.name) {
            Some(existing) if existing.code == decl.code => {}
            Some(_) => panic!(
                "uplift codegen: two different types are both called `{}` in TypeScript ({what}); \
                 rename one, e.g. with `#[ts(rename = \"...\")]`",
                decl.name
            ),
            None => self.0.push(decl),
        }
    }

    fn get(&self, name: &str) -> Option<&TsDecl> {
        self.0.iter().find(|d| d.name == name)
    }

    fn render(&self, out: &mut String) {
        for d in &self.0 {
            out.push('\n');
            out.push_str(&d.code);
            out.push('\n');
        }
    }
}

/// Every wire DTO, in the order `protocol.ts` declares them (their dependencies follow).
fn protocol_decls(cfg: &ts_rs::Config) -> Decls {
    let types = [
        describe::<ErrorCode>(cfg),
        describe::<ErrorBody>(cfg),
        describe::<ErrorResponse>(cfg),
        describe::<Acl>(cfg),
        describe::<ContentDisposition>(cfg),
        describe::<FileTypeConfig>(cfg),
        describe::<RouteInfo>(cfg),
        describe::<RoutesResponse>(cfg),
        describe::<NoInput>(cfg),
        describe::<FileDeclaration>(cfg),
        describe::<PrepareRequest>(cfg),
        describe::<PreparedUpload>(cfg),
        describe::<MultipartPlan>(cfg),
        describe::<PartUrl>(cfg),
        describe::<PartsRequest>(cfg),
        describe::<PartsResponse>(cfg),
        describe::<UploadedPart>(cfg),
        describe::<PrepareResponse>(cfg),
        describe::<UploadStatus>(cfg),
        describe::<UploadedFile>(cfg),
        describe::<UploadResult>(cfg),
        describe::<MultipartResponse>(cfg),
        describe::<SignedPut>(cfg),
        describe::<PostForm>(cfg),
        describe::<SignedPost>(cfg),
        describe::<UploadToken>(cfg),
        describe::<FileKind>(cfg),
        describe::<FileObject>(cfg),
        describe::<Meta>(cfg),
        describe::<Links>(cfg),
        describe::<FileEnvelope>(cfg),
        describe::<ObjectList>(cfg),
        describe::<FileInfo>(cfg),
        describe::<FileList>(cfg),
        describe::<FileChange>(cfg),
        describe::<Deletion>(cfg),
        describe::<DeleteResult>(cfg),
        describe::<RouteUsage>(cfg),
        describe::<Usage>(cfg),
    ];
    let mut decls = Decls::default();
    for t in types {
        for d in t.decls {
            decls.add(d, "in uplift's protocol");
        }
    }
    decls
}

/// `protocol.ts`: every wire DTO of the protocol, the same for every app.
pub fn protocol_ts() -> GeneratedFile {
    let mut out = format!("// {HEADER}\n");
    protocol_decls(&ts_config()).render(&mut out);
    GeneratedFile {
        path: "protocol.ts".into(),
        contents: out,
    }
}

/// `router.ts`: the app's types, `routeConfig` and `UploadRouter`.
///
/// # Panics
/// When two different types of the app share a TypeScript name, or one of them takes the name
/// of a protocol type: the file could not declare both.
pub fn router_ts(router: &Router) -> GeneratedFile {
    let cfg = ts_config();
    let protocol = protocol_decls(&cfg);
    // Protocol types the app's types reach; imported if named outside `protocol.ts` (an app
    // type holding an `UploadedFile` needs it, not the `Acl` that `UploadedFile` holds).
    let mut reachable = BTreeSet::new();
    let mut own = Decls::default();
    let mut routes = Vec::new();
    for route in router.routes() {
        let slug = route.slug();
        let input = route.input_type().typescript(&cfg);
        let server_data = route.server_data_type().typescript(&cfg);
        for d in input.decls.iter().chain(&server_data.decls) {
            match protocol.get(&d.name) {
                Some(p) if p.code == d.code => {
                    reachable.insert(d.name.clone());
                }
                Some(_) => panic!(
                    "uplift codegen: route `{slug}` uses a type called `{}`, which is the name of a \
                     protocol type in `protocol.ts`; rename it, e.g. with `#[ts(rename = \"...\")]`",
                    d.name
                ),
                None => own.add(d.clone(), &format!("seen in route `{slug}`")),
            }
        }
        routes.push((
            slug.to_string(),
            input.name,
            server_data.name,
            route.config().await_server_data,
            route.input_type().is_no_input(),
        ));
    }

    let mut used = BTreeSet::new();
    for code in own.0.iter().map(|d| d.code.as_str()) {
        used.extend(type_names(code));
    }
    for (_, input, server_data, _, _) in &routes {
        used.extend(type_names(input));
        used.extend(type_names(server_data));
    }
    let imports: BTreeSet<&String> = reachable
        .iter()
        .filter(|n| used.contains(n.as_str()))
        .collect();

    let mut out = format!("// {HEADER}\n");
    if !imports.is_empty() {
        let names: Vec<&str> = imports.iter().map(|n| n.as_str()).collect();
        let _ = writeln!(
            out,
            "import type {{ {} }} from \"./protocol.js\";",
            names.join(", ")
        );
    }
    own.render(&mut out);

    let configs: serde_json::Map<String, Value> = router
        .routes()
        .iter()
        .map(|r| {
            let mut info = serde_json::to_value(RouteInfo::of(r)).expect("RouteInfo serializes");
            if let Value::Object(map) = &mut info {
                map.remove("inputSchema");
            }
            (r.slug().to_string(), info)
        })
        .collect();
    let configs =
        serde_json::to_string_pretty(&canonical(Value::Object(configs))).expect("JSON serializes");
    out.push_str(
        "\n/**\n * Every file route's config, as `GET {base}` serves it (without the input schemas):\n \
         * file types with their limits, whether the upload awaits the server data, route-wide limits.\n */\n",
    );
    let _ = writeln!(out, "export const routeConfig = {configs} as const;");

    out.push_str(
        "\n/**\n * The app's file routes by slug: the `input` the prepare call takes, the `serverData` the\n \
         * completion hook answers with, whether the upload waits for it (`awaitServerData`), and the\n \
         * route's `config`.\n */\nexport type UploadRouter = {",
    );
    for (slug, input, server_data, awaits, _) in &routes {
        let key = serde_json::to_string(slug).expect("a string serializes");
        let _ = write!(
            out,
            "\n  {key}: {{\n    input: {input};\n    serverData: {server_data};\n    awaitServerData: {awaits};\n    \
             config: (typeof routeConfig)[{key}];\n  }};"
        );
    }
    if !routes.is_empty() {
        out.push('\n');
    }
    out.push_str("};\n");
    uploadthing_router(&mut out, &routes);
    GeneratedFile {
        path: "router.ts".into(),
        contents: out,
    }
}

/// `UploadThingRouter`: the same routes as the stock UploadThing client packages type a
/// router (`FileRouter`: their helpers read only `$types`), for frontends that keep them
/// (`docs/uploadthing.md`). A route without input takes `undefined`; the output is what the
/// upload answers with: the server data on a route that awaits it, `null` otherwise.
fn uploadthing_router(out: &mut String, routes: &[(String, String, String, bool, bool)]) {
    out.push_str(
        "\n/**\n * One route as UploadThing's client packages type it: their helpers read `$types` only.\n \
         */\nexport type UploadThingRoute<Input, Output> = {\n  \
         $types: { input: Input; output: Output; errorShape: { message: string } };\n  \
         // The server-side parts of UploadThing's FileRoute, never read by its client.\n  \
         routerConfig: any;\n  routeOptions: any;\n  inputParser: any;\n  middleware: any;\n  \
         onUploadError: any;\n  errorFormatter: any;\n  onUploadComplete: any;\n};\n",
    );
    out.push_str(
        "\n/**\n * The app's file routes as UploadThing's client packages type a `FileRouter`:\n \
         * `generateReactHelpers<UploadThingRouter>({ url: \"/api/uploads/uploadthing\" })`,\n \
         * `genUploader<UploadThingRouter>(…)`, `generateUploadButton<UploadThingRouter>()`.\n \
         */\nexport type UploadThingRouter = {",
    );
    for (slug, input, server_data, awaits, no_input) in routes {
        let key = serde_json::to_string(slug).expect("a string serializes");
        let input = if *no_input { "undefined" } else { input };
        let output = if *awaits {
            server_data.as_str()
        } else {
            "null"
        };
        let _ = write!(out, "\n  {key}: UploadThingRoute<{input}, {output}>;");
    }
    if !routes.is_empty() {
        out.push('\n');
    }
    out.push_str("};\n");
}

/// The identifiers in TypeScript code, outside its doc comments.
fn type_names(code: &str) -> BTreeSet<&str> {
    code.lines()
        .filter(|l| {
            let l = l.trim_start();
            !(l.starts_with("/**") || l.starts_with("* ") || l == "*" || l.starts_with("*/"))
        })
        .flat_map(|l| l.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')))
        .filter(|t| !t.is_empty())
        .collect()
}

/// `protocol.ts` and `router.ts`.
pub fn files(router: &Router) -> Vec<GeneratedFile> {
    vec![protocol_ts(), router_ts(router)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_integers_are_numbers() {
        let t = describe::<UploadedFile>(&ts_config());
        let decl = &t.decls[0].code;
        assert!(decl.contains("size: number"), "{decl}");
        assert!(!decl.contains("bigint"), "{decl}");
    }

    #[test]
    fn the_protocol_declares_every_dto_once_and_needs_no_import() {
        let f = protocol_ts();
        assert!(f.contents.starts_with(&format!("// {HEADER}\n")));
        assert!(!f.contents.contains("import"), "{}", f.contents);
        for name in [
            "ErrorCode",
            "ErrorResponse",
            "UploadResult",
            "UploadedFile",
            "RouteInfo",
            "NoInput",
            "Acl",
        ] {
            let decl = format!("export type {name} ");
            assert_eq!(
                f.contents.matches(&decl).count(),
                1,
                "{name} in\n{}",
                f.contents
            );
        }
        assert!(f.contents.contains("\"TOO_LARGE\""), "{}", f.contents);
    }

    #[test]
    fn doc_comments_cannot_end_their_block_early() {
        let code =
            "/**\n * any type: `*/*`\n */\nexport type X = { \n/**\n * a */ b\n */\nx: string, };";
        let fixed = crate::describe::close_no_comment_early(code);
        assert_eq!(fixed.matches("*/").count(), 2, "{fixed}");
        assert!(fixed.contains(" * any type: `*\\/*`\n */\n"), "{fixed}");
    }

    #[test]
    fn wrappers_reach_the_types_inside() {
        let t = describe::<Option<Vec<UploadedFile>>>(&ts_config());
        assert_eq!(t.name, "Array<UploadedFile> | null");
        let names: Vec<&str> = t.decls.iter().map(|d| d.name.as_str()).collect();
        assert!(
            names.contains(&"UploadedFile") && names.contains(&"Acl"),
            "{names:?}"
        );
        let t = describe::<(u64, String)>(&ts_config());
        assert_eq!(t.name, "[number, string]");
        assert!(t.decls.is_empty());
    }
}
