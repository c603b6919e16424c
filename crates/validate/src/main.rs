//! The `validate` Lambda: splits an execution's batch into valid events and dead letters.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    gcx_core::lambda::serve::<validate::App>().await
}
