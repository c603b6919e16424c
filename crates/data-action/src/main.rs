//! The `data-action` Lambda: the Genesys Architect data action.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    gcx_core::lambda::serve::<data_action::App>().await
}
