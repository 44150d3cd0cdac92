//! The `wechat-mp-exporter` binary: everything lives in the library; this only runs the CLI.

fn main() -> std::process::ExitCode {
    wechat_mp_exporter::cli::main()
}
