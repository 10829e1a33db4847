fn main() {
    std::process::exit(imap_triage::cli::main());
}
