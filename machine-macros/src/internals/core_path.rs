//! Where `machine-core` is, seen from the crate being compiled.
//!
//! Generated code names the core crate's traits and types by an absolute path. Users reach
//! that crate in one of three ways: as a direct dependency (`machine-core`, possibly renamed in
//! `Cargo.toml`), only through the facade crate `machine` (which re-exports it as
//! `machine::core`), or under a name only they know. The derive cannot see the crate graph, but
//! it can read the manifest of the crate it expands in: `proc-macro-crate` finds a dependency
//! there by package name and tells its local (possibly renamed) name. This module turns that
//! answer into a path; `crate = ...` on either derive overrides it.

use proc_macro_crate::{crate_name, FoundCrate};
use syn::Path;

/// The package name of the core crate.
const CORE_PACKAGE: &str = "machine-core";
/// The package name of the facade crate, which re-exports the core crate as `core`.
const FACADE_PACKAGE: &str = "machine";

/// The path generated code uses for the core crate when `crate = ...` is not given:
///
/// 1. the crate depends on `machine-core`: `::machine_core`, or `::<name>` if renamed;
/// 2. else it depends on `machine`: `::machine::core`, or `::<name>::core` if renamed;
/// 3. else (no manifest to read, or neither found): `::machine_core`.
///
/// A package asking for itself (`machine-core`'s own doctests and examples, the facade's) gets
/// the same absolute path as a dependent would, which is what its doctests, examples and
/// integration tests need; its library code would declare `extern crate self as machine_core;`.
pub(crate) fn default_core_path() -> Path {
    resolve(CORE_PACKAGE, "")
        .or_else(|| resolve(FACADE_PACKAGE, "::core"))
        .unwrap_or_else(|| syn::parse_quote!(::machine_core))
}

/// `::<local name of package><suffix>`, if the crate being compiled depends on `package` (or
/// is `package`) and the name makes a valid path.
fn resolve(package: &str, suffix: &str) -> Option<Path> {
    let name = match crate_name(package).ok()? {
        FoundCrate::Itself => package.replace('-', "_"),
        FoundCrate::Name(name) => name,
    };
    syn::parse_str(&format!("::{name}{suffix}")).ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use quote::ToTokens;

    use super::*;

    /// `proc-macro-crate` reads `CARGO_MANIFEST_DIR`; tests that change it take turns.
    static MANIFEST_DIR: Mutex<()> = Mutex::new(());

    fn text(path: &Path) -> String {
        path.to_token_stream().to_string().replace(' ', "")
    }

    /// The default path for a crate named `user` with these `[dependencies]` lines.
    fn resolved_for(user: &str, dependencies: &str) -> String {
        let _turn = MANIFEST_DIR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = std::env::temp_dir().join(format!(
            "machine-macros-core-path-{}-{user}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{user}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [workspace]\n\n[dependencies]\n{dependencies}\n"
            ),
        )
        .unwrap();
        let own = std::env::var_os("CARGO_MANIFEST_DIR");
        std::env::set_var("CARGO_MANIFEST_DIR", &dir);
        let path = text(&default_core_path());
        match own {
            Some(own) => std::env::set_var("CARGO_MANIFEST_DIR", own),
            None => std::env::remove_var("CARGO_MANIFEST_DIR"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
        path
    }

    #[test]
    fn the_macro_crate_itself_resolves_through_its_dev_dependency() {
        let _turn = MANIFEST_DIR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert_eq!(text(&default_core_path()), "::machine_core");
    }

    #[test]
    fn a_crate_using_only_the_facade_goes_through_it() {
        let path = resolved_for("facade-only", "machine = \"0.1\"");
        assert_eq!(path, "::machine::core");
    }

    #[test]
    fn a_renamed_facade_is_followed() {
        let path = resolved_for(
            "renamed-facade",
            "fsm = { package = \"machine\", version = \"0.1\" }",
        );
        assert_eq!(path, "::fsm::core");
    }

    #[test]
    fn a_direct_core_dependency_wins_over_the_facade() {
        let path = resolved_for("both", "machine = \"0.1\"\nmachine-core = \"0.1\"");
        assert_eq!(path, "::machine_core");
    }

    #[test]
    fn a_renamed_core_dependency_is_followed() {
        let path = resolved_for(
            "renamed-core",
            "engine = { package = \"machine-core\", version = \"0.1\" }",
        );
        assert_eq!(path, "::engine");
    }

    #[test]
    fn without_either_dependency_the_core_crate_name_is_assumed() {
        assert_eq!(resolved_for("neither", "serde = \"1\""), "::machine_core");
    }

    #[test]
    fn a_package_asking_for_itself_gets_an_absolute_path() {
        let _turn = MANIFEST_DIR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let path = resolve("machine-macros", "::core");
        assert_eq!(
            path.as_ref().map(text).as_deref(),
            Some("::machine_macros::core")
        );
    }

    #[test]
    fn an_unknown_package_is_not_resolved() {
        let _turn = MANIFEST_DIR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert!(resolve("no-such-package-for-machine", "").is_none());
    }
}
