//! `uplift files ls | rm | mv | acl | url`: the stored files a server lets its caller manage
//! (`Router::manage_files`), as a table on stdout or, with `--json`, as the server's JSON.
//! Who the caller is travels in `--token` (a bearer token) or `--header` (a session header),
//! as the app's access function expects.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use uplift::client::{ClientError, FilesClient};
use uplift::protocol::{Deletion, FileChange, FileInfo};
use uplift::Acl;

#[derive(Args)]
pub struct FilesArgs {
    /// Where the app mounts Uplift, e.g. `http://127.0.0.1:8080/api/uploads`.
    #[arg(long, env = "UPLIFT_BASE")]
    base: String,
    /// A bearer token, sent as `Authorization: Bearer …`.
    #[arg(long, env = "UPLIFT_TOKEN")]
    token: Option<String>,
    /// A header to send with every request, `Name: value` (repeatable), e.g. a session.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: FilesCommand,
}

#[derive(Subcommand)]
enum FilesCommand {
    /// List files, newest first.
    Ls {
        /// Only this route's files.
        #[arg(long)]
        route: Option<String>,
        /// Only files in this state (pending, uploading, completing, complete, failed, expired).
        #[arg(long)]
        status: Option<String>,
        /// Files per page (1–100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Start after this cursor (a page's `nextCursor`).
        #[arg(long)]
        cursor: Option<String>,
        /// Every page, following the cursor.
        #[arg(long)]
        all: bool,
    },
    /// Delete files (bytes and records).
    Rm {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Rename a stored file (the name its downloads are saved as).
    Mv { key: String, name: String },
    /// Make a stored file public (`public-read`) or `private`.
    Acl { key: String, acl: String },
    /// Print a download URL of a stored file (signed, for a private one).
    Url { key: String },
}

fn client(args: &FilesArgs) -> Result<FilesClient, String> {
    let mut c = FilesClient::new(&args.base);
    if let Some(t) = &args.token {
        c = c.bearer_token(t);
    }
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("a header is `Name: value`, not {h:?}"))?;
        c = c.header(name.trim(), value.trim());
    }
    Ok(c)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("wire types serialize")
}

fn table(files: &[FileInfo]) -> String {
    let mut out = format!(
        "{:<28} {:<18} {:<10} {:>10} {:<11} {:<24} NAME\n",
        "KEY", "ROUTE", "STATUS", "SIZE", "ACL", "CREATED"
    );
    for f in files {
        out.push_str(&format!(
            "{:<28} {:<18} {:<10} {:>10} {:<11} {:<24} {}\n",
            f.key,
            f.slug,
            f.status.as_str(),
            f.size,
            f.acl.as_str(),
            f.created_at,
            f.name
        ));
    }
    out
}

/// A refusal or a transport failure, said on stderr with the CLI's exit code.
fn failed(e: ClientError) -> ExitCode {
    match e {
        ClientError::Refused { status, error } => {
            eprintln!(
                "uplift: refused: {} ({status}): {}",
                error.code, error.message
            );
            ExitCode::from(1)
        }
        e @ ClientError::Invalid(_) => {
            eprintln!("uplift: {e}");
            ExitCode::from(2)
        }
        e => {
            eprintln!("uplift: {e}");
            ExitCode::from(3)
        }
    }
}

pub async fn run(args: FilesArgs) -> ExitCode {
    let c = match client(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("uplift: {e}");
            return ExitCode::from(2);
        }
    };
    match &args.command {
        FilesCommand::Ls {
            route,
            status,
            limit,
            cursor,
            all,
        } => {
            let mut files = Vec::new();
            let mut next = cursor.clone();
            loop {
                let mut q = vec![("limit", limit.to_string())];
                for (k, v) in [("route", route), ("status", status), ("cursor", &next)] {
                    if let Some(v) = v {
                        q.push((k, v.clone()));
                    }
                }
                let page = match c.list(&q).await {
                    Ok(p) => p,
                    Err(e) => return failed(e),
                };
                if !*all {
                    if args.json {
                        println!("{}", json(&page));
                    } else {
                        print!("{}", table(&page.files));
                        if let Some(n) = &page.next_cursor {
                            eprintln!("uplift: more with --cursor {n} (or --all)");
                        }
                    }
                    return ExitCode::SUCCESS;
                }
                files.extend(page.files);
                match page.next_cursor {
                    Some(n) => next = Some(n),
                    None => break,
                }
            }
            if args.json {
                println!("{}", json(&files));
            } else {
                print!("{}", table(&files));
            }
            ExitCode::SUCCESS
        }
        FilesCommand::Rm { keys } => {
            let mut results = Vec::new();
            for key in keys {
                match c.delete(key).await {
                    Ok(r) => results.push(r),
                    Err(e) => return failed(e),
                }
            }
            if args.json {
                println!("{}", json(&results));
            } else {
                for r in &results {
                    let said = match r.result {
                        Deletion::Deleted => "deleted",
                        Deletion::NotFound => "not found",
                        Deletion::InProgress => "still uploading: kept",
                    };
                    println!("{}\t{said}", r.key);
                }
            }
            // Gone either way is done; a file still uploading is not.
            if results.iter().any(|r| r.result == Deletion::InProgress) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        FilesCommand::Mv { key, name } => {
            let change = FileChange {
                name: Some(name.clone()),
                acl: None,
            };
            show(&args, c.change(key, &change).await)
        }
        FilesCommand::Acl { key, acl } => {
            let Some(acl) = Acl::parse(acl) else {
                eprintln!("uplift: the ACL is `public-read` or `private`");
                return ExitCode::from(2);
            };
            let change = FileChange {
                name: None,
                acl: Some(acl),
            };
            show(&args, c.change(key, &change).await)
        }
        FilesCommand::Url { key } => match c.status(key).await {
            Ok(st) => match st.file {
                Some(f) => {
                    println!("{}", if args.json { json(&f) } else { f.url });
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("uplift: {key} is {}: nothing stored", st.status.as_str());
                    ExitCode::from(1)
                }
            },
            Err(e) => failed(e),
        },
    }
}

fn show(args: &FilesArgs, result: Result<FileInfo, ClientError>) -> ExitCode {
    match result {
        Ok(f) if args.json => {
            println!("{}", json(&f));
            ExitCode::SUCCESS
        }
        Ok(f) => {
            print!("{}", table(std::slice::from_ref(&f)));
            ExitCode::SUCCESS
        }
        Err(e) => failed(e),
    }
}
