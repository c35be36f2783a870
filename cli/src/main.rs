//! `uplift`: send a file to an Uplift signed upload URL, a signed POST form, or a folder with a
//! bearer token, with a progress bar on stderr and the stored file object as JSON on stdout;
//! and manage stored files (`uplift files ls | rm | mv | acl | url`) on a server that lets
//! its users manage their files.
//!
//! Exit codes: 0 done; 1 refused by the server (its code on stderr); 2 bad usage; 3 the file
//! could not be read or the server could not be reached.

mod files;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use uplift::client::{parse_form, ClientError, Uploader};
use uplift::protocol::{SignedPost, SignedPut};

#[derive(Parser)]
#[command(
    name = "uplift",
    version,
    about = "Upload files to Uplift signed URLs and forms"
)]
struct Cli {
    /// No progress bar.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// PUT a file to a signed upload URL (or, with --token, to `{base}/objects/{dir}/{name}`).
    Put {
        /// The signed `uploadUrl`; a SignedPut JSON file or `-` (stdin), whose bound headers
        /// are sent too; or the objects URL when a token authorizes the upload.
        url: String,
        file: PathBuf,
        /// The file's Content-Type (default: from its extension). Must equal a bound type.
        #[arg(long)]
        content_type: Option<String>,
        /// A bearer token from `create_token`.
        #[arg(long)]
        token: Option<String>,
    },
    /// POST a file through a signed form: a SignedPost or PostForm JSON file, or `-` for stdin.
    Post {
        form: String,
        file: PathBuf,
        /// The file part's Content-Type (default: the form's bound type, else the extension).
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Manage stored files on a server that lets its users manage theirs.
    Files(files::FilesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("uplift: could not start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let cli = match cli.command {
        Command::Files(args) => return files::run(args).await,
        command => Cli { command, ..cli },
    };
    let bar = progress_bar(cli.quiet);
    let on_bar = bar.clone();
    let mut uploader = Uploader::new().on_progress(move |sent, total| {
        on_bar.set_length(total);
        on_bar.set_position(sent);
    });
    let result = match cli.command {
        Command::Put {
            url,
            file,
            content_type,
            token,
        } => {
            if let Some(t) = content_type {
                uploader = uploader.content_type(t);
            }
            if let Some(t) = token {
                uploader = uploader.bearer_token(t);
            }
            if url.contains("://") {
                uploader.put(&url, &file).await
            } else {
                let signed = read_form(&url).map_err(|e| e.to_string()).and_then(|json| {
                    serde_json::from_str::<SignedPut>(&json).map_err(|e| e.to_string())
                });
                match signed {
                    Ok(signed) => uploader.put_signed(&signed, &file).await,
                    Err(e) => {
                        bar.finish_and_clear();
                        eprintln!("uplift: {url} is neither a URL nor a SignedPut JSON: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
        }
        Command::Files(_) => unreachable!("handled above"),
        Command::Post {
            form,
            file,
            content_type,
        } => {
            let json = match read_form(&form) {
                Ok(json) => json,
                Err(e) => {
                    bar.finish_and_clear();
                    eprintln!("uplift: could not read the form {form}: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Some(t) = content_type {
                uploader = uploader.content_type(t);
            }
            // A SignedPost may go straight to the bucket and need its completion.
            if let Ok(signed) = serde_json::from_str::<SignedPost>(&json) {
                uploader.post_signed(&signed, &file).await
            } else {
                match parse_form(&json) {
                    Ok(f) => uploader.post(&f, &file).await,
                    Err(e) => {
                        bar.finish_and_clear();
                        eprintln!("uplift: {form} is neither a SignedPost nor a PostForm: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
        }
    };
    bar.finish_and_clear();
    match result {
        Ok(file) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&file).expect("a file object serializes")
            );
            ExitCode::SUCCESS
        }
        Err(ClientError::Refused { status, error }) => {
            eprintln!(
                "uplift: refused: {} ({status}): {}",
                error.code, error.message
            );
            if let Some(data) = error.data {
                eprintln!("uplift: details: {data}");
            }
            ExitCode::from(1)
        }
        Err(e @ ClientError::Invalid(_)) => {
            eprintln!("uplift: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("uplift: {e}");
            ExitCode::from(3)
        }
    }
}

/// A file's text, or stdin's for `-`.
fn read_form(arg: &str) -> std::io::Result<String> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(arg)
    }
}

/// A byte bar on stderr; indicatif draws nothing when stderr is not a terminal.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
