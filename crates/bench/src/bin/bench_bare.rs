//! `bench-bare`: the smallest useful `lambda_runtime` function (it echoes its event), built with the same
//! release profile as the real functions. The benchmark measures the functions' init against this one.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
