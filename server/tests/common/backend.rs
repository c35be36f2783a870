//! The two record backends the integration tests run on: the server's own SQLite file, or a
//! fresh PostgreSQL schema on `UPLIFT_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), skipped when PostgreSQL is unreachable unless
//! `UPLIFT_REQUIRE_POSTGRES=1`.

use super::{Options, TestServer};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where a test server keeps its records.
#[derive(Clone, Debug)]
pub enum Db {
    /// A SQLite file in the server's data directory.
    Sqlite,
    /// A schema of its own in PostgreSQL.
    Postgres { url: String, schema: String },
}

impl Db {
    /// A fresh schema named `{prefix}_{random}`, or `None` when PostgreSQL is unreachable and
    /// not required.
    pub async fn postgres(prefix: &str) -> Option<Db> {
        let url = std::env::var("UPLIFT_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_PG_URL.into());
        if let Err(e) = sqlx::PgPool::connect(&url).await {
            assert!(
                std::env::var("UPLIFT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL required but not reachable at {url}: {e}"
            );
            eprintln!("PostgreSQL not reachable at {url} ({e}): skipping");
            return None;
        }
        let schema = format!("{prefix}_{:016x}", rand::random::<u64>());
        Some(Db::Postgres { url, schema })
    }

    /// `opts` with the records on this backend.
    pub fn options(&self, opts: Options) -> Options {
        match self {
            Db::Sqlite => opts,
            Db::Postgres { url, schema } => Options {
                records_url: Some(url.clone()),
                records_schema: Some(schema.clone()),
                ..opts
            },
        }
    }

    /// `opts` for a second server instance on `srv`'s disk and records.
    pub fn sharing(&self, srv: &TestServer, opts: Options) -> Options {
        let mut opts = self.options(opts);
        opts.data_dir = Some(srv.data_dir.clone());
        #[cfg(feature = "s3")]
        if let Some(config) = srv.s3_config.clone() {
            opts.storage = super::Backend::S3;
            opts.s3_config = Some(config);
        }
        if let Db::Sqlite = self {
            opts.records_url = Some(srv.db_url.clone());
        }
        opts
    }

    /// A connection of its own to `srv`'s records.
    pub async fn records(&self, srv: &TestServer) -> uplift::Records {
        match self {
            Db::Sqlite => uplift::Records::connect(&srv.db_url).await.unwrap(),
            Db::Postgres { url, schema } => uplift::Records::connect_with_schema(url, schema)
                .await
                .unwrap(),
        }
    }

    /// Drops the PostgreSQL schema (nothing for SQLite: the data directory goes with its
    /// server).
    pub async fn drop_schema(&self) {
        if let Db::Postgres { url, schema } = self {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

/// Runs each scenario `async fn name(db: Db)` as two tests: `on_sqlite::name` and
/// `on_postgres::name` (which drops its schema, pass or fail).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::common::backend::Db::Sqlite).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = super::common::backend::Db::postgres("uplift_test").await
                else {
                    return;
                };
                let outcome = futures_util::FutureExt::catch_unwind(
                    std::panic::AssertUnwindSafe(super::$name(db.clone())),
                )
                .await;
                db.drop_schema().await;
                if let Err(p) = outcome {
                    std::panic::resume_unwind(p);
                }
            })*
        }
    };
}
