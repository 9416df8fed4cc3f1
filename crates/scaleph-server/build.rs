//! Builds the web UI (`web/`, Vite) into `web/dist` so the binary can serve it (embedded in
//! release builds by rust-embed, read from disk in debug builds). Runs when the UI's sources
//! change; needs Node.js and npm (the npm registry on the first build, for `npm install`). Without
//! npm, or with `SCALEPH_SKIP_WEB_BUILD=1`, nothing is built and the server's page says how to
//! build the UI.
use std::path::Path;
use std::process::Command;

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    for p in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=SCALEPH_SKIP_WEB_BUILD");
    if std::env::var_os("SCALEPH_SKIP_WEB_BUILD").is_some() || !web.join("package.json").exists() {
        return;
    }
    let npm = |args: &[&str]| Command::new("npm").args(args).current_dir(&web).status();
    if !web.join("node_modules").exists() {
        match npm(&["install", "--no-audit", "--no-fund"]) {
            Ok(s) if s.success() => {}
            _ => {
                println!("cargo:warning=web UI not built: `npm install` failed or npm is missing (see the README, section Web UI)");
                return;
            }
        }
    }
    match npm(&["run", "build"]) {
        Ok(s) if s.success() => {}
        _ => println!("cargo:warning=web UI not built: `npm run build` failed in web/"),
    }
}
