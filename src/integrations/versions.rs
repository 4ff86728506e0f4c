//! Which Mattermost version each dialog feature needs, and which routes use which.
//!
//! `check` accepts every feature (a route file is valid whatever server it meets); `doctor` and
//! `serve` compare the connected server's version with [`requirements`] and warn, naming the
//! route and the feature, when the server is older (the dialog would open without the feature,
//! or not at all).
//!
//! Versions, from Mattermost's source and PROTOCOL.md §3/§8 (the release a change first
//! shipped in is inferred from the server and web-app code history; the exact release was not
//! verified against release notes — see the README's table):
//! - generic `error` in the submission answer: 5.18;
//! - `multiselect` on a select: 11.0;
//! - `date`/`datetime` elements, `data_source = "dynamic"`, field `refresh` with the dialog's
//!   `source_url`, and multi-step (`type: "form"` answers): 11.1;
//! - `file` elements and `file_ids`: 11.10 (mattermost/mattermost PR #36881).

use super::{Action, RouteSet};

/// A dialog feature newer than Switchboard's oldest supported Mattermost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// `[[dialog.rules]]`, answered with the dialog's generic `error`.
    GenericError,
    /// `multiselect = true`.
    Multiselect,
    /// `type = "date"`.
    DateElement,
    /// `type = "datetime"`.
    DatetimeElement,
    /// `data_source = "dynamic"`.
    DynamicSelect,
    /// `refresh = true`.
    FieldRefresh,
    /// `on_submit` naming another dialog.
    MultiStep,
    /// `type = "file"`.
    FileElement,
}

impl Feature {
    /// What the route declares, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Feature::GenericError => "dialog rules (the generic `error`)",
            Feature::Multiselect => "multiselect",
            Feature::DateElement => "date elements",
            Feature::DatetimeElement => "datetime elements",
            Feature::DynamicSelect => "dynamic selects",
            Feature::FieldRefresh => "field refresh",
            Feature::MultiStep => "multi-step dialogs",
            Feature::FileElement => "file elements",
        }
    }

    /// The first Mattermost version (major, minor) that has it.
    pub fn since(self) -> (u32, u32) {
        match self {
            Feature::GenericError => (5, 18),
            Feature::Multiselect => (11, 0),
            Feature::DateElement
            | Feature::DatetimeElement
            | Feature::DynamicSelect
            | Feature::FieldRefresh
            | Feature::MultiStep => (11, 1),
            Feature::FileElement => (11, 10),
        }
    }
}

/// One route's use of one feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The route.
    pub route: String,
    /// The feature.
    pub feature: Feature,
}

/// Every feature every route uses, in route order.
pub fn requirements(routes: &RouteSet) -> Vec<Requirement> {
    let mut found = Vec::new();
    for route in routes.iter() {
        let mut features: Vec<Feature> = Vec::new();
        for action in std::iter::once(&route.action).chain(route.actions.values()) {
            let Action::Dialog(dialog) = action else {
                continue;
            };
            features.extend(dialog.features());
            let next_is_dialog = dialog
                .on_submit
                .as_ref()
                .and_then(|n| route.actions.get(n))
                .is_some_and(|a| matches!(a, Action::Dialog(_)));
            if next_is_dialog {
                features.push(Feature::MultiStep);
            }
        }
        let mut seen = Vec::new();
        for feature in features {
            if !seen.contains(&feature) {
                seen.push(feature);
                found.push(Requirement {
                    route: route.name.clone(),
                    feature,
                });
            }
        }
    }
    found
}

/// The requirements a server of `version` (major, minor) does not meet.
pub fn unmet(routes: &RouteSet, version: (u32, u32)) -> Vec<Requirement> {
    requirements(routes)
        .into_iter()
        .filter(|r| r.feature.since() > version)
        .collect()
}

/// For `check`: with `[mattermost] min_version` set, prints an error for each route feature
/// that version lacks (naming the route, the feature and the version it needs) and returns
/// false; also false, with an error, when `min_version` is not a version.
pub fn check_min_version(settings: &crate::config::Settings, routes: &RouteSet) -> bool {
    let Some(declared) = settings.mattermost.min_version.as_deref() else {
        return true;
    };
    let Some(version) = parse_version(declared) else {
        eprintln!("error: [mattermost] min_version = {declared:?} is not a version like \"11.10\"");
        return false;
    };
    let unmet = unmet(routes, version);
    for need in &unmet {
        let (major, minor) = need.feature.since();
        eprintln!(
            "error: route `{}` uses {}, which needs Mattermost {major}.{minor}; \
             [mattermost] min_version is {declared}",
            need.route,
            need.feature.name()
        );
    }
    unmet.is_empty()
}

/// `"11.1.0"` → (11, 1); `None` when not a version.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_incident_route_needs_11_1_and_names_each_feature() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("routes");
        let routes = crate::integrations::load_dir(&dir).unwrap();
        let mut incident: Vec<&str> = requirements(&routes)
            .into_iter()
            .filter(|r| r.route == "incident")
            .map(|r| r.feature.name())
            .collect();
        incident.sort_unstable();
        assert_eq!(
            incident,
            [
                "date elements",
                "dialog rules (the generic `error`)",
                "dynamic selects",
                "multi-step dialogs",
                "multiselect",
            ]
        );
        assert!(unmet(&routes, (11, 1)).is_empty());
        let on_11_0: Vec<_> = unmet(&routes, (11, 0))
            .into_iter()
            .map(|r| r.feature)
            .collect();
        assert!(on_11_0.contains(&Feature::MultiStep));
        assert!(!on_11_0.contains(&Feature::Multiselect));
        assert_eq!(parse_version("10.11.3"), Some((10, 11)));
        assert_eq!(parse_version("dev"), None);
    }
}
