//! Genesys Cloud regions: from `GENESYS_ENV` (a Genesys domain or an AWS region name) to the login and
//! API base URLs. The table is the official SDKs' region host table: PureCloudPlatformClientV2 269.0.0
//! (PyPI) and purecloud-platform-client-v2 262.0.0 (npm), which added the EU Sovereign Cloud in 2026.

use gcx_core::config::{parse_url, ConfigError, Env};
use gcx_core::setting::Setting;

/// AWS region → Genesys Cloud domain, as in the official SDKs' region host tables.
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
];

/// Where to reach one Genesys Cloud region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The Genesys domain, e.g. `mypurecloud.com` (informational when URLs are overridden).
    pub domain: String,
    /// `https://login.<domain>`: the OAuth token endpoint's host.
    pub login_base: reqwest::Url,
    /// `https://api.<domain>`: the Platform API's host.
    pub api_base: reqwest::Url,
}

/// Resolves a Genesys domain or an AWS region name to its domain; `None` if unknown. Like the JS SDK, a
/// scheme, a trailing `/` and a `login.`/`api.` host prefix are ignored (`https://api.mypurecloud.ie/`).
pub fn domain_for(value: &str) -> Option<&'static str> {
    let v = value.trim().to_ascii_lowercase();
    let v = v
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_start_matches("api.")
        .trim_start_matches("login.");
    REGIONS
        .iter()
        .find(|(region, domain)| *region == v || *domain == v)
        .map(|(_, domain)| *domain)
}

/// The Genesys region.
pub const GENESYS_ENV: Setting = Setting::optional("GENESYS_ENV", "`mypurecloud.com`")
    .parameter("GenesysEnvironment")
    .doc("A Genesys domain (`usw2.pure.cloud`, `https://api.mypurecloud.ie/`, …) or an AWS region (`eu-west-1`, `eusc-de-east-1`, …); an unknown value fails init listing the valid ones.");

/// The login host, overridden (local stand-ins).
pub const GENESYS_LOGIN_URL: Setting =
    Setting::optional("GENESYS_LOGIN_URL", "`https://login.<domain>`")
        .doc("Overrides the login host (local stand-ins).");

/// The API host, overridden (local stand-ins).
pub const GENESYS_API_URL: Setting = Setting::optional("GENESYS_API_URL", "`https://api.<domain>`")
    .doc("Overrides the API host (local stand-ins).");

impl Endpoints {
    /// Reads `GENESYS_ENV` (default `mypurecloud.com`) and the `GENESYS_LOGIN_URL` / `GENESYS_API_URL`
    /// overrides used for local stand-ins.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let raw = GENESYS_ENV
            .read_optional(env)
            .unwrap_or_else(|| "mypurecloud.com".to_owned());
        let login_override = GENESYS_LOGIN_URL.read_optional(env);
        let api_override = GENESYS_API_URL.read_optional(env);
        let domain = match domain_for(&raw) {
            Some(d) => d.to_owned(),
            // With both URLs overridden (a local stand-in) the domain is only a label.
            None if login_override.is_some() && api_override.is_some() => raw.clone(),
            None => {
                let valid: Vec<String> =
                    REGIONS.iter().map(|(r, d)| format!("{d} ({r})")).collect();
                return Err(ConfigError::new(
                    "GENESYS_ENV",
                    format!(
                        "unknown Genesys region {raw:?}; use a domain or AWS region, one of: {}",
                        valid.join(", ")
                    ),
                ));
            }
        };
        let login_base = match login_override {
            Some(u) => parse_url("GENESYS_LOGIN_URL", &u)?,
            None => parse_url("GENESYS_ENV", &format!("https://login.{domain}"))?,
        };
        let api_base = match api_override {
            Some(u) => parse_url("GENESYS_API_URL", &u)?,
            None => parse_url("GENESYS_ENV", &format!("https://api.{domain}"))?,
        };
        Ok(Self {
            domain,
            login_base,
            api_base,
        })
    }

    /// The OAuth token endpoint, `<login>/oauth/token`.
    pub fn token_url(&self) -> reqwest::Url {
        join(&self.login_base, "oauth/token")
    }

    /// An API URL under `<api>/api/v2/`, with `segments` percent-encoded as path segments.
    pub fn api_url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.api_base.clone();
        {
            // A base URL with a host is never "cannot-be-a-base"; `from_env` guarantees the host.
            let mut path = url.path_segments_mut().expect("API base URL has a host");
            path.pop_if_empty().extend(["api", "v2"]).extend(segments);
        }
        url
    }
}

fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    {
        let mut segs = url.path_segments_mut().expect("login base URL has a host");
        segs.pop_if_empty().extend(path.split('/'));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_regions_resolve_to_login_and_api_hosts() {
        let e = Endpoints::from_env(&[("GENESYS_ENV", "eu-west-1")]).unwrap();
        assert_eq!(e.domain, "mypurecloud.ie");
        assert_eq!(
            e.token_url().as_str(),
            "https://login.mypurecloud.ie/oauth/token"
        );
        let e = Endpoints::from_env(&[("GENESYS_ENV", "usw2.pure.cloud")]).unwrap();
        assert_eq!(
            e.api_url(&["analytics", "conversations", "x y", "details"])
                .as_str(),
            "https://api.usw2.pure.cloud/api/v2/analytics/conversations/x%20y/details"
        );
        let e = Endpoints::from_env(&[("X", "")]).unwrap();
        assert_eq!(e.domain, "mypurecloud.com");
        for (region, domain) in REGIONS {
            assert_eq!(domain_for(region), Some(*domain));
            assert_eq!(domain_for(domain), Some(*domain));
        }
        for spelled in [
            "https://mypurecloud.ie/",
            "mypurecloud.ie/",
            "http://api.mypurecloud.ie",
            " LOGIN.mypurecloud.ie ",
        ] {
            assert_eq!(domain_for(spelled), Some("mypurecloud.ie"), "{spelled}");
        }
    }

    /// The 18 hosts of the official SDKs' region table (PureCloudPlatformClientV2 269.0.0,
    /// `PureCloudRegionHosts`; purecloud-platform-client-v2 262.0.0, `PureCloudRegionHosts`).
    #[test]
    fn the_table_is_the_sdks_region_host_table() {
        let sdk: [(&str, &str); 18] = [
            ("us_east_1", "mypurecloud.com"),
            ("eu_west_1", "mypurecloud.ie"),
            ("ap_southeast_2", "mypurecloud.com.au"),
            ("ap_northeast_1", "mypurecloud.jp"),
            ("eu_central_1", "mypurecloud.de"),
            ("us_west_2", "usw2.pure.cloud"),
            ("ca_central_1", "cac1.pure.cloud"),
            ("ap_northeast_2", "apne2.pure.cloud"),
            ("eu_west_2", "euw2.pure.cloud"),
            ("ap_south_1", "aps1.pure.cloud"),
            ("us_east_2", "use2.us-gov-pure.cloud"),
            ("sa_east_1", "sae1.pure.cloud"),
            ("me_central_1", "mec1.pure.cloud"),
            ("ap_northeast_3", "apne3.pure.cloud"),
            ("eu_central_2", "euc2.pure.cloud"),
            ("ap_southeast_1", "apse1.pure.cloud"),
            ("mx_central_1", "mxc1.pure.cloud"),
            ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
        ];
        assert_eq!(REGIONS.len(), sdk.len());
        for (name, host) in sdk {
            let region = name.replace('_', "-");
            assert!(
                REGIONS.contains(&(region.as_str(), host)),
                "{region} -> {host}"
            );
        }
        let e = Endpoints::from_env(&[("GENESYS_ENV", "eusc-de-east-1")]).unwrap();
        assert_eq!(
            e.token_url().as_str(),
            "https://login.edee1.eusc-pure.cloud/oauth/token"
        );
    }

    #[test]
    fn unknown_region_names_the_variable_and_lists_valid_values() {
        let e = Endpoints::from_env(&[("GENESYS_ENV", "mars-1")]).unwrap_err();
        assert_eq!(e.variable, "GENESYS_ENV");
        assert!(
            e.problem.contains("mypurecloud.de (eu-central-1)"),
            "{}",
            e.problem
        );
    }

    #[test]
    fn overrides_point_at_local_stand_ins() {
        let e = Endpoints::from_env(&[
            ("GENESYS_ENV", "local"),
            ("GENESYS_LOGIN_URL", "http://127.0.0.1:9001"),
            ("GENESYS_API_URL", "http://127.0.0.1:9001/"),
        ])
        .unwrap();
        assert_eq!(e.token_url().as_str(), "http://127.0.0.1:9001/oauth/token");
        assert_eq!(
            e.api_url(&["analytics"]).as_str(),
            "http://127.0.0.1:9001/api/v2/analytics"
        );
        let bad = Endpoints::from_env(&[
            ("GENESYS_API_URL", "nope"),
            ("GENESYS_LOGIN_URL", "http://x"),
        ])
        .unwrap_err();
        assert_eq!(bad.variable, "GENESYS_API_URL");
    }
}
