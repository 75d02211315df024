//! Package URLs as `.trivyignore.yaml` `purls:` entries use them: a constraint matches a
//! package when type, namespace and name are equal, and version, subpath and each qualifier
//! are equal where the constraint sets them.

/// A parsed `pkg:type/namespace/name@version?qualifiers#subpath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageUrl {
    package_type: String,
    namespace: String,
    name: String,
    version: String,
    qualifiers: Vec<(String, String)>,
    subpath: String,
}

impl PackageUrl {
    /// Parses a package URL; `None` when it is not one.
    pub(crate) fn parse(text: &str) -> Option<PackageUrl> {
        let rest = text.trim().strip_prefix("pkg:")?.trim_start_matches('/');
        let (rest, subpath) = split_last(rest, '#');
        let (rest, qualifiers) = split_last(rest, '?');
        let (rest, version) = split_version(rest);
        let (package_type, path) = rest.split_once('/')?;
        let (namespace, name) = match path.rsplit_once('/') {
            Some((namespace, name)) => (namespace, name),
            None => ("", path),
        };
        if package_type.is_empty() || name.is_empty() {
            return None;
        }

        Some(PackageUrl {
            package_type: package_type.to_ascii_lowercase(),
            namespace: decode(namespace),
            name: decode(name),
            version: decode(version),
            qualifiers: qualifiers
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (key.to_ascii_lowercase(), decode(value))
                })
                .collect(),
            subpath: decode(subpath.trim_matches('/')),
        })
    }

    /// Whether `target` satisfies this constraint.
    pub(crate) fn matches(&self, target: &PackageUrl) -> bool {
        self.package_type == target.package_type
            && self.namespace == target.namespace
            && self.name == target.name
            && (self.version.is_empty() || self.version == target.version)
            && (self.subpath.is_empty() || self.subpath == target.subpath)
            && self.qualifiers.iter().all(|(key, value)| {
                target
                    .qualifiers
                    .iter()
                    .any(|(target_key, target_value)| target_key == key && target_value == value)
            })
    }
}

fn split_last(text: &str, separator: char) -> (&str, &str) {
    text.rsplit_once(separator).unwrap_or((text, ""))
}

fn split_version(text: &str) -> (&str, &str) {
    // The version follows the last '@' after the last '/', so scoped npm names (`%40scope`) and
    // namespaces stay intact.
    let name_start = text.rfind('/').map_or(0, |slash| slash + 1);
    match text[name_start..].rfind('@') {
        Some(at) => (&text[..name_start + at], &text[name_start + at + 1..]),
        None => (text, ""),
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = if bytes[index] == b'%' {
            bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        } else {
            None
        };
        if let Some(byte) = escaped {
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purl(text: &str) -> PackageUrl {
        PackageUrl::parse(text).unwrap()
    }

    #[test]
    fn parses_components() {
        let parsed = purl("pkg:npm/%40babel/traverse@7.23.2?arch=x86#lib");
        assert_eq!(parsed.namespace, "@babel");
        assert_eq!(parsed.name, "traverse");
        assert_eq!(parsed.version, "7.23.2");
        assert_eq!(parsed.qualifiers, vec![("arch".into(), "x86".into())]);
        assert_eq!(parsed.subpath, "lib");
        assert!(PackageUrl::parse("not-a-purl").is_none());
    }

    #[test]
    fn constraint_matching() {
        let target = purl("pkg:apk/alpine/musl@1.1.20-r4?arch=x86_64&distro=3.9.4");
        assert!(purl("pkg:apk/alpine/musl").matches(&target));
        assert!(purl("pkg:apk/alpine/musl@1.1.20-r4").matches(&target));
        assert!(purl("pkg:apk/alpine/musl?arch=x86_64").matches(&target));
        assert!(!purl("pkg:apk/alpine/musl@1.1.20-r5").matches(&target));
        assert!(!purl("pkg:apk/alpine/musl-utils").matches(&target));
        assert!(!purl("pkg:apk/alpine/musl?arch=aarch64").matches(&target));
    }
}
