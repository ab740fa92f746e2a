// mimalloc: loading a 100,000-exclusion policy makes millions of small allocations, and
// glibc's allocator spends half of that load in malloc/free (0.55 s instead of 1 s here);
// row filtering gains ~8%. A C library built by the `mimalloc` crate; no unsafe code here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    fpx::cli::main()
}
