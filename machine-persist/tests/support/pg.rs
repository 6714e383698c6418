//! Opening a Postgres store on a fresh schema of the test server (see
//! `machine_test_support::postgres` for where the server is and when its absence is a skip).

use machine_persist::{PostgresOptions, PostgresStore};
use machine_test_support::postgres;

/// A store on a fresh schema named after `prefix`, with `configure` applied to its options
/// (whose URL is `url`), or `None` when the server is unreachable outside CI.
pub async fn open_at(
    test: &str,
    url: &str,
    schema: &str,
    configure: impl FnOnce(PostgresOptions) -> PostgresOptions,
) -> Option<PostgresStore> {
    let options = PostgresOptions::url(url).unwrap().schema(schema).unwrap();
    match PostgresStore::with_options(configure(options)).await {
        Ok(store) => Some(store),
        Err(error) => {
            postgres::unavailable(test, &error);
            None
        }
    }
}

/// A store on a fresh schema of the test server.
pub async fn open(
    test: &str,
    configure: impl FnOnce(PostgresOptions) -> PostgresOptions,
) -> Option<PostgresStore> {
    let schema = postgres::fresh_schema("mp");
    open_at(test, &postgres::url(), &schema, configure).await
}

/// Drops the store's schema and closes it.
pub async fn teardown(store: PostgresStore) {
    store.drop_schema().await.unwrap();
    store.close().await;
}
