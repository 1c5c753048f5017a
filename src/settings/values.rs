//! The value types every part of `settings/` shares: where a value came
//! from, and the small enums and shapes a profile is made of. A leaf: it
//! imports nothing of `settings/`, so the files that layer, parse and
//! resolve a profile never import each other in a circle.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(n) => write!(f, "flag {n}"),
        }
    }
}

/// A value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Value<T> {
    pub(super) fn new(value: T, source: Source) -> Self {
        Value { value, source }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    Clustered,
    Dedicated,
}

impl Product {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "clustered" => Some(Product::Clustered),
            "dedicated" => Some(Product::Dedicated),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Product::Clustered => "clustered",
            Product::Dedicated => "dedicated",
        }
    }
}

/// Who creates, lists and revokes management tokens: our HTTP endpoints
/// (`api`, the default) or InfluxData's `influxctl` driven as a subprocess
/// (`influxctl`: stock clusters serve management tokens only over a private
/// gRPC API whose one public client is influxctl; issue 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagementBackend {
    Api,
    Influxctl,
}

impl ManagementBackend {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "api" => Some(ManagementBackend::Api),
            "influxctl" => Some(ManagementBackend::Influxctl),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ManagementBackend::Api => "api",
            ManagementBackend::Influxctl => "influxctl",
        }
    }
}

/// influxctl writes `port = "443"`; people also write `port = 443`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum FilePort {
    Str(String),
    Int(i64),
}

impl FilePort {
    pub(super) fn into_text(self) -> String {
        match self {
            FilePort::Str(s) => s,
            FilePort::Int(i) => i.to_string(),
        }
    }
}

/// How the profile logs in (issue 20): a person through the device flow
/// (RFC 8628, the default) or a workload through the client credentials
/// grant (RFC 6749 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    Device,
    ClientCredentials,
}

impl Grant {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "device" | "device_code" => Some(Grant::Device),
            "client_credentials" => Some(Grant::ClientCredentials),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Device => "device",
            Grant::ClientCredentials => "client_credentials",
        }
    }
}

/// The signing algorithm of a `private_key_file` (RFC 7518 §3.1), for keys
/// whose PEM does not say (or to insist on one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlg {
    RS256,
    ES256,
}

impl KeyAlg {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "RS256" => Some(KeyAlg::RS256),
            "ES256" => Some(KeyAlg::ES256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::RS256 => "RS256",
            KeyAlg::ES256 => "ES256",
        }
    }
}
