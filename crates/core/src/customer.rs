//! The customer across conversations, without the customer's number: a keyed hash of the normalized address.
//!
//! The pipeline stores, per conversation, [`CustomerKeyer::key`] of the customer's address (`customerKey`) so
//! that the `recent-contact` data action can find a caller's latest conversations with one query of the
//! table's `CustomerRecency` index, hashing the `ani` Architect hands it the same way. The address itself is
//! never stored or logged: the key is HMAC-SHA256 under a secret, so it cannot be reversed by enumerating
//! phone numbers without that secret.
//!
//! What must not change without re-keying every item: [`normalize`] (the same customer must give the same
//! text whatever its spelling) and the key's bytes (the secret's text, trimmed). Nothing here logs.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::config::{secret_source, ConfigError, Env, SecretSource};
use crate::setting::Setting;

/// The key itself, for local runs (the template never sets it).
pub const CUSTOMER_KEY_VAR: &str = CUSTOMER_KEY.variable;
/// A Secrets Manager secret whose `SecretString` is the key, read once at init (what the template sets).
pub const CUSTOMER_KEY_SECRET_VAR: &str = CUSTOMER_KEY_SECRET_ARN.variable;

/// The customer key's secret, as deployed.
pub const CUSTOMER_KEY_SECRET_ARN: Setting = Setting::optional(
    "CUSTOMER_KEY_SECRET_ARN",
    "no customer key (the template sets `CustomerKeySecret`)",
)
.doc(
    "Secrets Manager secret whose SecretString is the customer key, read once at init: each record then carries \
     `customerKey`, the HMAC-SHA256 of the caller's normalized address (never the address), and \
     `customerContactAt`, for the table's `CustomerRecency` index.",
);

/// The customer key itself, for local runs.
pub const CUSTOMER_KEY: Setting = Setting::optional("CUSTOMER_KEY", "no customer key").doc(
    "The same key given directly (local runs; at least 16 bytes); setting both is a `Config.Invalid`.",
);
/// Longest address [`normalize`] takes, in characters (whitespace included).
pub const MAX_ADDRESS_CHARS: usize = 256;
/// Most digits of a phone number (E.164's maximum, country code included).
pub const MAX_DIGITS: usize = 15;
/// Shortest accepted key, in bytes (RFC 2104 wants at least the hash's 32; 16 is the floor).
pub const MIN_KEY_BYTES: usize = 16;

/// SIP user parts that say the caller withheld their identity: every such caller would share one key.
const ANONYMOUS_USERS: &[&str] = &[
    "anonymous",
    "restricted",
    "unknown",
    "unavailable",
    "private",
    "withheld",
];

/// The one spelling of a customer's address, or `None` when it is not one.
///
/// Genesys and Architect write the same caller many ways (`tel:+3212345678`, `+32 12 34 56 78`,
/// `sip:+3212345678@edge;user=phone`); the key must not depend on which. The rules, in order:
///
/// 1. An address over [`MAX_ADDRESS_CHARS`] characters is refused. Every whitespace character is removed.
/// 2. A `tel:` prefix (any case) is dropped, and so are URI parameters (`;ext=...`, `;phone-context=...`).
/// 3. `sip:` / `sips:` (any case): the user part before `@` is taken, without its `;` parameters. If it is a
///    phone number (rule 4) that number is the answer. Otherwise the answer is `sip:` + `user@host` in ASCII
///    lowercase, the host without `;` parameters or `?` headers (a port is kept). A SIP address without a user
///    part, with characters a SIP URI does not have, or that says the caller is anonymous (user `anonymous`,
///    `restricted`, `unknown`, `unavailable`, `private`, `withheld`, or a host under `.invalid`) is `None`:
///    all such callers would otherwise share one key.
/// 4. A phone number: the visual separators `-`, `.`, `(`, `)` are removed (and, after a `+`, a trunk `(0)`
///    as in `+32 (0)12 34 56 78`). `+` and 1 to 15 digits, the first not `0`, is E.164: `+` and the digits.
///    1 to 15 digits without a `+` are kept as they are: a national number (`3175550100`), whose country
///    cannot be known, so it is a different customer from its E.164 form.
/// 5. Anything else (empty, letters without `sip:`, too many digits) is `None`.
///
/// The answer contains no whitespace and `normalize` of it is itself.
pub fn normalize(address: &str) -> Option<String> {
    if address.chars().nth(MAX_ADDRESS_CHARS).is_some() {
        return None;
    }
    let compact: String = address.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(rest) = strip_scheme(&compact, "tel:") {
        return phone(before(rest, ';'));
    }
    if let Some(rest) = strip_scheme(&compact, "sips:").or_else(|| strip_scheme(&compact, "sip:")) {
        return sip(rest);
    }
    phone(before(&compact, ';'))
}

/// `text` without `scheme` (ASCII, any case) at its start.
fn strip_scheme<'a>(text: &'a str, scheme: &str) -> Option<&'a str> {
    let head = text.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &text[scheme.len()..])
}

/// `text` up to the first `separator`.
fn before(text: &str, separator: char) -> &str {
    text.split(separator).next().unwrap_or_default()
}

/// Rule 4: a phone number, E.164 or national, or `None`.
fn phone(text: &str) -> Option<String> {
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest.replacen("(0)", "", 1)),
        None => (false, text.to_owned()),
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
        .collect();
    if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    match plus {
        true if digits.starts_with('0') => None,
        true => Some(format!("+{digits}")),
        false => Some(digits),
    }
}

/// Rule 3: what follows `sip:` / `sips:`.
fn sip(rest: &str) -> Option<String> {
    let (user, host) = rest.split_once('@').unwrap_or((rest, ""));
    let user = before(user, ';');
    if let Some(number) = phone(user) {
        return Some(number);
    }
    let host = before(before(host, ';'), '?');
    let user_ok = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()%&=+$,/".contains(c);
    let host_ok = |c: char| c.is_ascii_alphanumeric() || "-.:[]".contains(c);
    if user.is_empty()
        || host.is_empty()
        || !user.chars().all(user_ok)
        || !host.chars().all(host_ok)
    {
        return None;
    }
    let (user, host) = (user.to_ascii_lowercase(), host.to_ascii_lowercase());
    if ANONYMOUS_USERS.contains(&user.as_str()) || host.ends_with(".invalid") {
        return None;
    }
    Some(format!("sip:{user}@{host}"))
}

/// Why a key cannot key customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CustomerKeyError {
    /// The key is empty.
    #[error("the customer key is empty")]
    Empty,
    /// The key is shorter than [`MIN_KEY_BYTES`].
    #[error("the customer key has {len} bytes; it needs at least {MIN_KEY_BYTES}")]
    TooShort {
        /// Its length in bytes.
        len: usize,
    },
}

/// Keys customers: HMAC-SHA256 of the normalized address under a secret key. Cheap to clone; `Debug` never
/// shows the key.
#[derive(Clone)]
pub struct CustomerKeyer {
    /// The MAC already keyed (each [`Self::key`] clones it, so the key is processed once).
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CustomerKeyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerKeyer([REDACTED])")
    }
}

impl CustomerKeyer {
    /// A keyer whose key is the UTF-8 bytes of `key`, as given (the configuration trims it first).
    pub fn new(key: &SecretString) -> Result<Self, CustomerKeyError> {
        let bytes = key.expose_secret().as_bytes();
        if bytes.is_empty() {
            return Err(CustomerKeyError::Empty);
        }
        if bytes.len() < MIN_KEY_BYTES {
            return Err(CustomerKeyError::TooShort { len: bytes.len() });
        }
        let mac = Hmac::<Sha256>::new_from_slice(bytes).map_err(|_| CustomerKeyError::Empty)?;
        Ok(Self { mac })
    }

    /// The customer key of `address`: lowercase hex of HMAC-SHA256(key, [`normalize`]`(address)`), 64
    /// characters; `None` when the address is not one.
    pub fn key(&self, address: &str) -> Option<String> {
        normalize(address).map(|normalized| self.mac_hex(normalized.as_bytes()))
    }

    /// Lowercase hex of the MAC of `message`.
    fn mac_hex(&self, message: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Where the customer key comes from: [`CUSTOMER_KEY_VAR`], [`CUSTOMER_KEY_SECRET_VAR`], or neither (no
/// customer keys are made).
pub type CustomerKeySource = SecretSource;

/// Reads [`CUSTOMER_KEY_VAR`] and [`CUSTOMER_KEY_SECRET_VAR`] (no I/O): both set is an error, and a key given
/// directly must already be usable.
pub fn customer_key_source(env: &dyn Env) -> Result<CustomerKeySource, ConfigError> {
    let source = secret_source(env, CUSTOMER_KEY_VAR, CUSTOMER_KEY_SECRET_VAR)?;
    if let SecretSource::Direct(key) = &source {
        keyer(&crate::aws::trimmed(key), CUSTOMER_KEY_VAR)?;
    }
    Ok(source)
}

/// The keyer `source` gives, reading the secret once when it names one (with `sdk` when the caller has
/// loaded it); `None` when no key is configured.
pub async fn load_customer_keyer(
    source: &CustomerKeySource,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<Option<CustomerKeyer>, ConfigError> {
    let variable = match source {
        SecretSource::Secret(_) => CUSTOMER_KEY_SECRET_VAR,
        _ => CUSTOMER_KEY_VAR,
    };
    match crate::aws::secret_value(source, CUSTOMER_KEY_SECRET_VAR, sdk).await? {
        None => Ok(None),
        Some(key) => keyer(&key, variable).map(Some),
    }
}

fn keyer(key: &SecretString, variable: &str) -> Result<CustomerKeyer, ConfigError> {
    CustomerKeyer::new(key).map_err(|e| ConfigError::new(variable, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef";

    fn keyer_of(key: &str) -> CustomerKeyer {
        CustomerKeyer::new(&SecretString::from(key)).unwrap()
    }

    #[test]
    fn the_spellings_genesys_and_architect_use() {
        let cases = [
            ("tel:+3212345678", Some("+3212345678")),
            ("+32 12 34 56 78", Some("+3212345678")),
            ("TEL: +32 (0)12 34 56 78", Some("+3212345678")),
            ("tel:+1 (317) 555-0100", Some("+13175550100")),
            ("tel:+1.317.555.0100;ext=12", Some("+13175550100")),
            ("sip:+3212345678@host;user=phone", Some("+3212345678")),
            ("sips:+3212345678;isub=1@10.0.0.1:5061", Some("+3212345678")),
            ("sip:Alice@Example.COM", Some("sip:alice@example.com")),
            (
                "SIP:Alice@Example.COM:5060;transport=tcp?x=y",
                Some("sip:alice@example.com:5060"),
            ),
            ("tel:3175550100", Some("3175550100")),
            ("3175550100", Some("3175550100")),
            ("\u{00a0}+32\t12\n345678 ", Some("+3212345678")),
        ];
        for (address, want) in cases {
            assert_eq!(normalize(address).as_deref(), want, "{address:?}");
        }
    }

    #[test]
    fn what_is_not_a_customer_address() {
        for address in [
            "",
            "   ",
            "tel:",
            "tel:+",
            "+0123456789",
            "tel:+1234567890123456",
            "1234567890123456",
            "Alice",
            "alice@example.com",
            "tel:alice",
            "sip:",
            "sip:@host",
            "sip:alice",
            "sip:alice@",
            "sip:Anonymous@anonymous.invalid",
            "sip:restricted@edge.example",
            "sip:x@host.invalid",
            "sip:a\"b@host",
            "sip:a@b@c",
            "sip:é@host",
            "+32-12-é",
        ] {
            assert_eq!(normalize(address), None, "{address:?}");
        }
        let long = format!("+32{}", " ".repeat(MAX_ADDRESS_CHARS));
        assert_eq!(normalize(&long), None);
        assert_eq!(
            normalize(&format!("+32{}", " ".repeat(MAX_ADDRESS_CHARS - 3))).as_deref(),
            Some("+32")
        );
    }

    #[test]
    fn hmac_sha256_is_the_rfc_4231_one() {
        // RFC 4231, test case 1: key = 20 bytes of 0x0b, data = "Hi There".
        let keyer = keyer_of(&"\u{0b}".repeat(20));
        assert_eq!(
            keyer.mac_hex(b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn the_key_is_the_hmac_of_the_normalized_address() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'0123456789abcdef',b'+3212345678',hashlib.sha256).hexdigest())"
        let want = "e1c843f8190751d8a380ee26f71b48ea951c27e59d75f1db2fb18df2e2387b14";
        let keyer = keyer_of(KEY);
        for spelling in [
            "tel:+3212345678",
            "+32 12 34 56 78",
            "sip:+3212345678@host;user=phone",
        ] {
            assert_eq!(keyer.key(spelling).as_deref(), Some(want), "{spelling}");
        }
        assert_eq!(keyer.key("Alice"), None);
        let other = keyer_of("fedcba9876543210");
        assert_ne!(other.key("tel:+3212345678").as_deref(), Some(want));
        assert_ne!(keyer.key("tel:+3212345679").as_deref(), Some(want));
    }

    #[test]
    fn short_keys_are_refused_and_debug_shows_no_key() {
        let new = |k: &str| CustomerKeyer::new(&SecretString::from(k));
        assert_eq!(new("").unwrap_err(), CustomerKeyError::Empty);
        assert_eq!(
            new("fifteen-bytes!!").unwrap_err(),
            CustomerKeyError::TooShort { len: 15 }
        );
        let debug = format!("{:?}", keyer_of(KEY));
        assert_eq!(debug, "CustomerKeyer([REDACTED])");
    }

    #[test]
    fn the_source_is_one_variable_at_most_and_a_direct_key_is_checked_at_once() {
        assert!(matches!(
            customer_key_source(&[("X", "")]).unwrap(),
            CustomerKeySource::None
        ));
        assert!(matches!(
            customer_key_source(&[(CUSTOMER_KEY_VAR, KEY)]).unwrap(),
            CustomerKeySource::Direct(_)
        ));
        assert!(matches!(
            customer_key_source(&[(CUSTOMER_KEY_SECRET_VAR, "arn:aws:secretsmanager:x")]).unwrap(),
            CustomerKeySource::Secret(_)
        ));
        let both =
            customer_key_source(&[(CUSTOMER_KEY_VAR, KEY), (CUSTOMER_KEY_SECRET_VAR, "arn")])
                .unwrap_err();
        assert_eq!(both.variable, CUSTOMER_KEY_VAR);
        let short = customer_key_source(&[(CUSTOMER_KEY_VAR, " short ")]).unwrap_err();
        assert_eq!(
            short.to_string(),
            "CUSTOMER_KEY: the customer key has 5 bytes; it needs at least 16"
        );
        assert!(!short.to_string().contains("short "));
    }

    #[tokio::test]
    async fn loading_reads_no_aws_without_a_secret() {
        assert!(load_customer_keyer(&CustomerKeySource::None, None)
            .await
            .unwrap()
            .is_none());
        let direct = CustomerKeySource::Direct(SecretString::from(format!(" {KEY}\n")));
        let keyer = load_customer_keyer(&direct, None).await.unwrap().unwrap();
        assert_eq!(keyer.key("+3212345678"), keyer_of(KEY).key("+3212345678"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Strings made of what addresses are made of, so the interesting branches are reached often.
    fn address_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[tTeElLsSiIpP:+0-9 ()\\-.;@=aA\u{a0}\t(0)]{0,40}",
            "(tel:|sip:|sips:|TEL:|SIP:)?\\+?[0-9 ().\\-]{0,20}(@[a-zA-Z0-9.]{0,8})?(;[a-z=]{0,8})?",
        ]
    }

    /// `tokens` (digits, or a trunk `(0)`) written with random separators between them; never a `(`
    /// right before a `0`, which would write a trunk zero the number does not have.
    fn formatted(tokens: Vec<String>) -> impl Strategy<Value = String> {
        let n = tokens.len();
        let separator = prop_oneof![
            Just(""),
            Just(" "),
            Just("-"),
            Just("."),
            Just("("),
            Just(")"),
            Just("\u{a0}")
        ];
        proptest::collection::vec(separator, n).prop_map(move |separators| {
            let mut out = String::new();
            for (i, (token, separator)) in tokens.iter().zip(separators).enumerate() {
                out.push_str(token);
                let next_is_zero = tokens.get(i + 1).is_some_and(|t| t.starts_with('0'));
                out.push_str(if separator == "(" && next_is_zero {
                    "-"
                } else {
                    separator
                });
            }
            out
        })
    }

    /// An E.164 number, and one way of writing it.
    fn spelled_e164() -> impl Strategy<Value = (String, String)> {
        ("[1-9][0-9]{0,14}", any::<bool>()).prop_flat_map(|(digits, trunk)| {
            let mut tokens: Vec<String> = digits.chars().map(String::from).collect();
            if trunk && tokens.len() > 2 {
                // +CC (0)NNN: the trunk zero some countries print.
                tokens.insert(2, "(0)".to_owned());
            }
            let e164 = format!("+{digits}");
            (formatted(tokens), 0..6usize).prop_map(move |(body, form)| {
                let spelled = match form {
                    0 => format!("+{body}"),
                    1 => format!("tel:+{body}"),
                    2 => format!("TEL: +{body};ext=1"),
                    3 => format!(" + {body} "),
                    4 => format!("sip:+{body}@edge.example.com;user=phone"),
                    _ => format!("SIPS:+{body};isub=2@10.1.2.3:5061;transport=tls"),
                };
                (e164.clone(), spelled)
            })
        })
    }

    proptest! {
        #[test]
        fn normalizing_never_panics_is_idempotent_and_has_no_whitespace(address in address_like()) {
            if let Some(n) = normalize(&address) {
                prop_assert!(!n.chars().any(char::is_whitespace), "{:?} -> {:?}", address, n);
                prop_assert!(!n.is_empty() && n.chars().count() <= MAX_ADDRESS_CHARS);
                prop_assert_eq!(normalize(&n), Some(n));
            }
        }

        #[test]
        fn every_spelling_of_an_e164_number_is_that_number((e164, spelled) in spelled_e164()) {
            prop_assert_eq!(normalize(&spelled), Some(e164));
        }

        #[test]
        fn keys_are_64_hex_and_follow_normalization(address in address_like()) {
            let keyer = CustomerKeyer::new(&SecretString::from("0123456789abcdef")).unwrap();
            match (keyer.key(&address), normalize(&address)) {
                (Some(k), Some(n)) => {
                    prop_assert!(k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
                    prop_assert_eq!(keyer.key(&n), Some(k));
                }
                (None, None) => {}
                (k, n) => prop_assert!(false, "key {:?} but normalized {:?}", k, n),
            }
        }
    }
}
