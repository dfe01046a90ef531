fn main() -> std::process::ExitCode {
    fulmar::cli::main()
}
