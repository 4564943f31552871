fn main() {
    eprintln!("tributary-connect: the worker (REST API, standalone/distributed modes) is not built yet; see docs/connect.md");
    std::process::exit(2);
}
