//! Where Mixxx keeps its database when nobody said where: each platform's default locations,
//! in the order git-mixxx looks at them (the first that exists wins).

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The platforms whose Mixxx locations differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Linux and other Unix-like systems (Mixxx's native package, or its Flatpak).
    Linux,
    Macos,
    Windows,
}

impl Platform {
    /// The platform git-mixxx was built for.
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Macos
        } else if cfg!(target_os = "windows") {
            Platform::Windows
        } else {
            Platform::Linux
        }
    }
}

/// One of Mixxx's default database locations. In JSON: `default_linux`, `default_flatpak`,
/// `default_macos_sandbox`, `default_macos`, `default_windows`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Location {
    /// `~/.mixxx/mixxxdb.sqlite`: Mixxx's own location on Linux.
    #[serde(rename = "default_linux")]
    Linux,
    /// `~/.var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite`: Mixxx installed from Flathub.
    #[serde(rename = "default_flatpak")]
    Flatpak,
    /// `~/Library/Containers/org.mixxx.mixxx/Data/Library/Application Support/Mixxx/`: the
    /// sandboxed Mixxx of current macOS builds.
    #[serde(rename = "default_macos_sandbox")]
    MacosSandbox,
    /// `~/Library/Application Support/Mixxx/`: older, unsandboxed macOS builds.
    #[serde(rename = "default_macos")]
    Macos,
    /// `%LOCALAPPDATA%\Mixxx\mixxxdb.sqlite`.
    #[serde(rename = "default_windows")]
    Windows,
}

/// Mixxx's default database locations on `platform`, in the order git-mixxx looks at them.
/// `home` is the home directory (`HOME`), `local_app_data` Windows' `%LOCALAPPDATA%`; a
/// location under one that is not known is left out.
pub fn candidates(
    platform: Platform,
    home: Option<&Path>,
    local_app_data: Option<&Path>,
) -> Vec<(Location, PathBuf)> {
    let under_home: &[(Location, &str)] = match platform {
        Platform::Linux => &[
            (Location::Linux, ".mixxx/mixxxdb.sqlite"),
            (
                Location::Flatpak,
                ".var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite",
            ),
        ],
        Platform::Macos => &[
            (
                Location::MacosSandbox,
                "Library/Containers/org.mixxx.mixxx/Data/Library/Application Support/Mixxx/mixxxdb.sqlite",
            ),
            (
                Location::Macos,
                "Library/Application Support/Mixxx/mixxxdb.sqlite",
            ),
        ],
        Platform::Windows => &[],
    };
    let mut out: Vec<(Location, PathBuf)> = home
        .map(|home| {
            under_home
                .iter()
                .map(|(location, rest)| (*location, home.join(rest)))
                .collect()
        })
        .unwrap_or_default();
    if let (Platform::Windows, Some(local)) = (platform, local_app_data) {
        out.push((
            Location::Windows,
            local.join("Mixxx").join("mixxxdb.sqlite"),
        ));
    }
    out
}

/// The candidates of this platform and environment (`HOME`, `LOCALAPPDATA`; empty values
/// count as unset).
pub fn here() -> Vec<(Location, PathBuf)> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    candidates(
        Platform::current(),
        var("HOME").as_deref(),
        var("LOCALAPPDATA").as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[(Location, PathBuf)]) -> Vec<(Location, String)> {
        list.iter()
            .map(|(l, p)| (*l, p.to_string_lossy().replace('\\', "/")))
            .collect()
    }

    #[test]
    fn linux_looks_at_the_native_location_then_flatpak() {
        let list = candidates(Platform::Linux, Some(Path::new("/home/dj")), None);
        assert_eq!(
            paths(&list),
            [
                (Location::Linux, "/home/dj/.mixxx/mixxxdb.sqlite".to_owned()),
                (
                    Location::Flatpak,
                    "/home/dj/.var/app/org.mixxx.Mixxx/.mixxx/mixxxdb.sqlite".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn macos_looks_at_the_sandbox_then_the_older_location() {
        let list = candidates(
            Platform::Macos,
            Some(Path::new("/Users/dj")),
            Some(Path::new("/ignored")),
        );
        assert_eq!(
            paths(&list),
            [
                (
                    Location::MacosSandbox,
                    "/Users/dj/Library/Containers/org.mixxx.mixxx/Data/Library/Application Support/Mixxx/mixxxdb.sqlite".to_owned()
                ),
                (
                    Location::Macos,
                    "/Users/dj/Library/Application Support/Mixxx/mixxxdb.sqlite".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn windows_looks_in_local_app_data_only() {
        let list = candidates(
            Platform::Windows,
            Some(Path::new("/home/dj")),
            Some(Path::new("C:/Users/dj/AppData/Local")),
        );
        assert_eq!(
            paths(&list),
            [(
                Location::Windows,
                "C:/Users/dj/AppData/Local/Mixxx/mixxxdb.sqlite".to_owned()
            )]
        );
    }

    #[test]
    fn without_a_home_there_is_nowhere_to_look() {
        assert!(candidates(Platform::Linux, None, None).is_empty());
        assert!(candidates(Platform::Macos, None, None).is_empty());
        assert!(candidates(Platform::Windows, Some(Path::new("/home/dj")), None).is_empty());
    }

    #[test]
    fn json_names_say_which_default() {
        let names: Vec<String> = [
            Location::Linux,
            Location::Flatpak,
            Location::MacosSandbox,
            Location::Macos,
            Location::Windows,
        ]
        .iter()
        .map(|l| serde_json::to_string(l).expect("serializes"))
        .collect();
        assert_eq!(
            names,
            [
                "\"default_linux\"",
                "\"default_flatpak\"",
                "\"default_macos_sandbox\"",
                "\"default_macos\"",
                "\"default_windows\"",
            ]
        );
    }
}
