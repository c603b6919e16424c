//! The `fanout` Lambda: Genesys events in, pipeline executions carrying batches out.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    gcx_core::lambda::serve::<fanout::App>().await
}
