//! Finding and loading the studio profile.

use std::path::{Path, PathBuf};

use anyhow::Context;
use inkdesk_domain::StudioProfile;

/// Where the profile was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// A file given by `--studio`/`INKDESK_STUDIO` or found at the default path.
    File(PathBuf),
    /// The built-in example studio.
    BuiltIn,
}

/// The default profile path, used when it exists.
pub const DEFAULT_PROFILE_PATH: &str = "config/studio.toml";

/// Loads the studio profile: the explicit path, else `config/studio.toml` when present,
/// else the built-in example.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<(StudioProfile, ProfileSource)> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_PROFILE_PATH)).filter(|p| p.exists()),
    };
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read studio profile {}", path.display()))?;
            let profile = StudioProfile::from_toml_str(&text)
                .with_context(|| format!("in {}", path.display()))?;
            Ok((profile, ProfileSource::File(path)))
        }
        None => Ok((StudioProfile::example(), ProfileSource::BuiltIn)),
    }
}
