fn main() -> std::process::ExitCode {
    fpx::cli::main()
}
