//! `cargo xtask bench` (being written).

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the benchmark is not written yet".into())
}
