//! The raw shapes of the rule files, as serde reads them (unknown keys rejected, spans kept
//! for the line numbers of errors); `load` turns them into the typed rules.

use serde::Deserialize;
use toml::Spanned;

use super::Step;
use crate::core::service::TlsMode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ErrorsFile {
    #[serde(default)]
    pub(super) error: Vec<Spanned<ErrorRuleFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ErrorRuleFile {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) step: Step,
    #[serde(default)]
    pub(super) patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) vendor_wording: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) other_service: Option<String>,
    pub(super) diagnosis: String,
    pub(super) next_steps: Vec<String>,
    #[serde(default)]
    pub(super) escalate: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProvidersFile {
    #[serde(default)]
    pub(super) provider: Vec<Spanned<ProviderFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProviderFile {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) host_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) domain_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) name_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) mx_patterns: Vec<Spanned<String>>,
    pub(super) imap: Option<ServerSettingFile>,
    pub(super) smtp: Option<ServerSettingFile>,
    #[serde(default)]
    pub(super) app_password: bool,
    #[serde(default)]
    pub(super) imap_must_be_enabled: bool,
    #[serde(default)]
    pub(super) basic_auth_retired: bool,
    #[serde(default)]
    pub(super) local_bridge_only: bool,
    #[serde(default)]
    pub(super) notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerSettingFile {
    pub(super) host: String,
    pub(super) port: u16,
    #[serde(with = "crate::core::service::as_security")]
    pub(super) security: TlsMode,
    #[serde(default)]
    pub(super) also_hosts: Vec<String>,
    #[serde(default)]
    pub(super) also_ports: Vec<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChecklistFile {
    #[serde(default)]
    pub(super) all_patterns: Vec<Spanned<String>>,
    pub(super) negation: Spanned<String>,
    #[serde(default)]
    pub(super) answer_yes: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) answer_no: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) item: Vec<Spanned<ChecklistItemFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChecklistItemFile {
    pub(super) id: String,
    pub(super) label: String,
    pub(super) patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) answer_patterns: Vec<Spanned<String>>,
}
