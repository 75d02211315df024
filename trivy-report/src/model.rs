//! The report model of SchemaVersion 2: report, metadata, results and their findings.
//!
//! Every struct keeps the fields it does not name in `extra`, so parsing and serialising a
//! report gives the same JSON back. Named fields are `Option`s: absent stays absent.

use serde_json::{Number, Value};

use crate::kinds::{ArtifactType, MisconfStatus, ResultClass, Severity, Status};
use crate::timestamp::Timestamp;
use crate::wire::{OrderedMap, wire_struct};

wire_struct! {
    /// A whole Trivy JSON report (`--format json`, SchemaVersion 2).
    pub struct Report {
        /// `SchemaVersion`: 2 for every report this crate reads.
        schema_version: u32 = "SchemaVersion",
        /// `Trivy`: the version of Trivy that wrote the report.
        trivy: TrivyInfo = "Trivy",
        /// `ReportID`.
        report_id: String = "ReportID",
        /// `CreatedAt`.
        created_at: Timestamp = "CreatedAt",
        /// `ArtifactID`.
        artifact_id: String = "ArtifactID",
        /// `ArtifactName`: the image reference, path or repository URL that was scanned.
        artifact_name: String = "ArtifactName",
        /// `ArtifactType`.
        artifact_type: ArtifactType = "ArtifactType",
        /// `Metadata`.
        metadata: Metadata = "Metadata",
        /// `Results`: one per scanned target.
        results: Vec<ScanResult> = "Results",
    }
}

wire_struct! {
    /// `Trivy`: information about the scanner.
    pub struct TrivyInfo {
        /// `Version`.
        version: String = "Version",
    }
}

wire_struct! {
    /// `Metadata`: what Trivy learnt about the artifact.
    pub struct Metadata {
        /// `Size` in bytes.
        size: u64 = "Size",
        /// `OS`.
        os: Os = "OS",
        /// `ImageID`.
        image_id: String = "ImageID",
        /// `DiffIDs`.
        diff_ids: Vec<String> = "DiffIDs",
        /// `RepoTags`.
        repo_tags: Vec<String> = "RepoTags",
        /// `RepoDigests`.
        repo_digests: Vec<String> = "RepoDigests",
        /// `Reference`.
        reference: String = "Reference",
        /// `ImageConfig`: the OCI image configuration, kept as JSON.
        image_config: Value = "ImageConfig",
        /// `Layers`.
        layers: Vec<LayerMetadata> = "Layers",
        /// `RepoURL` (repository scans).
        repo_url: String = "RepoURL",
        /// `Branch` (repository scans).
        branch: String = "Branch",
        /// `Tags` (repository scans).
        tags: Vec<String> = "Tags",
        /// `Commit` (repository scans).
        commit: String = "Commit",
        /// `CommitMsg` (repository scans).
        commit_msg: String = "CommitMsg",
        /// `Author` (repository scans).
        author: String = "Author",
        /// `Committer` (repository scans).
        committer: String = "Committer",
    }
}

wire_struct! {
    /// `OS`: the detected operating system.
    pub struct Os {
        /// `Family`, e.g. `alpine`, `debian`.
        family: String = "Family",
        /// `Name`: the version, e.g. `3.9.4`.
        name: String = "Name",
        /// `EOSL`: the distribution is past its end of support.
        eosl: bool = "EOSL",
        /// `extended` (lower case in Trivy's output): extended support.
        extended: bool = "extended",
    }
}

wire_struct! {
    /// One entry of `Metadata.Layers`.
    pub struct LayerMetadata {
        /// `Size` in bytes.
        size: u64 = "Size",
        /// `Digest`.
        digest: String = "Digest",
        /// `DiffID`.
        diff_id: String = "DiffID",
    }
}

wire_struct! {
    /// A layer reference on a finding (`Layer`).
    pub struct Layer {
        /// `Digest`.
        digest: String = "Digest",
        /// `DiffID`.
        diff_id: String = "DiffID",
        /// `CreatedBy`.
        created_by: String = "CreatedBy",
    }
}

wire_struct! {
    /// One scanned target (`Results[]`): a package database, lock file, config file, ...
    pub struct ScanResult {
        /// `Target`.
        target: String = "Target",
        /// `Class`.
        class: ResultClass = "Class",
        /// `Type`: an open set (`alpine`, `npm`, `dockerfile`, ...).
        target_type: String = "Type",
        /// `Packages` (only with `--list-all-pkgs`).
        packages: Vec<Package> = "Packages",
        /// `Vulnerabilities`.
        vulnerabilities: Vec<Vulnerability> = "Vulnerabilities",
        /// `MisconfSummary`.
        misconf_summary: MisconfSummary = "MisconfSummary",
        /// `Misconfigurations`.
        misconfigurations: Vec<Misconfiguration> = "Misconfigurations",
        /// `Secrets`.
        secrets: Vec<Secret> = "Secrets",
        /// `Licenses`.
        licenses: Vec<License> = "Licenses",
        /// `CustomResources`, kept as JSON.
        custom_resources: Vec<Value> = "CustomResources",
        /// `ExperimentalModifiedFindings`: findings suppressed by ignore files or VEX.
        modified_findings: Vec<ModifiedFinding> = "ExperimentalModifiedFindings",
    }
}

wire_struct! {
    /// A package found in a target (`Packages[]`).
    pub struct Package {
        /// `ID`.
        id: String = "ID",
        /// `Name`.
        name: String = "Name",
        /// `Identifier`.
        identifier: PkgIdentifier = "Identifier",
        /// `Version`.
        version: String = "Version",
        /// `Release`.
        release: String = "Release",
        /// `Epoch`.
        epoch: i64 = "Epoch",
        /// `Arch`.
        arch: String = "Arch",
        /// `Dev`: a development dependency.
        dev: bool = "Dev",
        /// `SrcName`.
        src_name: String = "SrcName",
        /// `SrcVersion`.
        src_version: String = "SrcVersion",
        /// `SrcRelease`.
        src_release: String = "SrcRelease",
        /// `SrcEpoch`.
        src_epoch: i64 = "SrcEpoch",
        /// `Licenses`.
        licenses: Vec<String> = "Licenses",
        /// `Maintainer`.
        maintainer: String = "Maintainer",
        /// `Modularitylabel` (Red Hat).
        modularity_label: String = "Modularitylabel",
        /// `BuildInfo` (Red Hat), kept as JSON.
        build_info: Value = "BuildInfo",
        /// `Indirect` (deprecated by `Relationship`).
        indirect: bool = "Indirect",
        /// `Relationship`: `root`, `direct`, `indirect`, ...
        relationship: String = "Relationship",
        /// `DependsOn`.
        depends_on: Vec<String> = "DependsOn",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `FilePath`.
        file_path: String = "FilePath",
        /// `Digest`.
        digest: String = "Digest",
        /// `Locations`: lines of the lock file.
        locations: Vec<Location> = "Locations",
        /// `InstalledFiles`.
        installed_files: Vec<String> = "InstalledFiles",
        /// `AnalyzedBy`: the analyzer that found the package.
        analyzed_by: String = "AnalyzedBy",
    }
}

wire_struct! {
    /// `PkgIdentifier` / `Identifier`: package URL and Trivy's unique id.
    pub struct PkgIdentifier {
        /// `PURL`.
        purl: String = "PURL",
        /// `UID`.
        uid: String = "UID",
        /// `BOMRef`.
        bom_ref: String = "BOMRef",
    }
}

wire_struct! {
    /// A detected vulnerability (`Vulnerabilities[]`).
    pub struct Vulnerability {
        /// `VulnerabilityID`, e.g. `CVE-2019-14697`.
        vulnerability_id: String = "VulnerabilityID",
        /// `VendorIDs`, e.g. advisory ids of the distribution.
        vendor_ids: Vec<String> = "VendorIDs",
        /// `PkgID`.
        pkg_id: String = "PkgID",
        /// `PkgName`.
        pkg_name: String = "PkgName",
        /// `PkgPath`: the file the package was found in (language packages).
        pkg_path: String = "PkgPath",
        /// `PkgIdentifier`.
        pkg_identifier: PkgIdentifier = "PkgIdentifier",
        /// `InstalledVersion`.
        installed_version: String = "InstalledVersion",
        /// `FixedVersion`: empty, one version or a comma-separated list.
        fixed_version: String = "FixedVersion",
        /// `Status`.
        status: Status = "Status",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `SeveritySource`: the vendor whose rating `Severity` is.
        severity_source: String = "SeveritySource",
        /// `PrimaryURL`.
        primary_url: String = "PrimaryURL",
        /// `DataSource`.
        data_source: DataSource = "DataSource",
        /// `Custom`, kept as JSON.
        custom: Value = "Custom",
        /// `Fingerprint`.
        fingerprint: String = "Fingerprint",
        /// `Title`.
        title: String = "Title",
        /// `Description`.
        description: String = "Description",
        /// `Severity`. Unknown labels read as `UNKNOWN`.
        severity: Severity = "Severity",
        /// `CweIDs`.
        cwe_ids: Vec<String> = "CweIDs",
        /// `VendorSeverity`: source -> level 0 (unknown) to 4 (critical).
        vendor_severity: OrderedMap<u8> = "VendorSeverity",
        /// `CVSS`: source -> vectors and scores.
        cvss: OrderedMap<Cvss> = "CVSS",
        /// `References`.
        references: Vec<String> = "References",
        /// `PublishedDate`.
        published_date: Timestamp = "PublishedDate",
        /// `LastModifiedDate`.
        last_modified_date: Timestamp = "LastModifiedDate",
    }
}

wire_struct! {
    /// `DataSource`: the advisory database a vulnerability came from.
    pub struct DataSource {
        /// `ID`.
        id: String = "ID",
        /// `Name`.
        name: String = "Name",
        /// `URL`.
        url: String = "URL",
    }
}

wire_struct! {
    /// One source's CVSS data. Scores keep their JSON number form (`5` stays `5`).
    pub struct Cvss {
        /// `V2Vector`.
        v2_vector: String = "V2Vector",
        /// `V3Vector`.
        v3_vector: String = "V3Vector",
        /// `V40Vector`.
        v40_vector: String = "V40Vector",
        /// `V2Score`.
        v2_score: Number = "V2Score",
        /// `V3Score`.
        v3_score: Number = "V3Score",
        /// `V40Score`.
        v40_score: Number = "V40Score",
    }
}

wire_struct! {
    /// `MisconfSummary`: counts of the checks run on a config target.
    pub struct MisconfSummary {
        /// `Successes`.
        successes: u64 = "Successes",
        /// `Failures`.
        failures: u64 = "Failures",
        /// `Exceptions`.
        exceptions: u64 = "Exceptions",
    }
}

wire_struct! {
    /// A misconfiguration (`Misconfigurations[]`).
    pub struct Misconfiguration {
        /// `Type`, e.g. `Dockerfile Security Check`.
        check_type: String = "Type",
        /// `ID`, e.g. `DS002`.
        id: String = "ID",
        /// `AVDID`, e.g. `AVD-DS-0002`.
        avd_id: String = "AVDID",
        /// `Title`.
        title: String = "Title",
        /// `Description`.
        description: String = "Description",
        /// `Message`.
        message: String = "Message",
        /// `Namespace`.
        namespace: String = "Namespace",
        /// `Query`.
        query: String = "Query",
        /// `Resolution`.
        resolution: String = "Resolution",
        /// `Severity`.
        severity: Severity = "Severity",
        /// `PrimaryURL`.
        primary_url: String = "PrimaryURL",
        /// `References`.
        references: Vec<String> = "References",
        /// `Status`.
        status: MisconfStatus = "Status",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `CauseMetadata`.
        cause_metadata: CauseMetadata = "CauseMetadata",
        /// `Traces`.
        traces: Vec<String> = "Traces",
    }
}

wire_struct! {
    /// `CauseMetadata`: where a misconfiguration is.
    pub struct CauseMetadata {
        /// `Resource`.
        resource: String = "Resource",
        /// `Provider`.
        provider: String = "Provider",
        /// `Service`.
        service: String = "Service",
        /// `StartLine`.
        start_line: i64 = "StartLine",
        /// `EndLine`.
        end_line: i64 = "EndLine",
        /// `Code`.
        code: Code = "Code",
        /// `Occurrences`, kept as JSON.
        occurrences: Vec<Value> = "Occurrences",
        /// `RenderedCause`, kept as JSON.
        rendered_cause: Value = "RenderedCause",
    }
}

wire_struct! {
    /// `Code`: source lines of a finding.
    pub struct Code {
        /// `Lines`.
        lines: Vec<CodeLine> = "Lines",
    }
}

wire_struct! {
    /// One line of `Code.Lines`.
    pub struct CodeLine {
        /// `Number`.
        number: i64 = "Number",
        /// `Content`.
        content: String = "Content",
        /// `IsCause`.
        is_cause: bool = "IsCause",
        /// `Annotation`.
        annotation: String = "Annotation",
        /// `Truncated`.
        truncated: bool = "Truncated",
        /// `Highlighted`: the content with terminal colours.
        highlighted: String = "Highlighted",
        /// `FirstCause`.
        first_cause: bool = "FirstCause",
        /// `LastCause`.
        last_cause: bool = "LastCause",
    }
}

wire_struct! {
    /// A range of lines (`Locations[]`).
    pub struct Location {
        /// `StartLine`.
        start_line: i64 = "StartLine",
        /// `EndLine`.
        end_line: i64 = "EndLine",
    }
}

wire_struct! {
    /// A secret (`Secrets[]`).
    pub struct Secret {
        /// `RuleID`.
        rule_id: String = "RuleID",
        /// `Category`.
        category: String = "Category",
        /// `Severity`.
        severity: Severity = "Severity",
        /// `Title`.
        title: String = "Title",
        /// `StartLine`.
        start_line: i64 = "StartLine",
        /// `EndLine`.
        end_line: i64 = "EndLine",
        /// `Code`: the lines around the secret.
        code: Code = "Code",
        /// `Match`: the matched line with the secret masked.
        matched: String = "Match",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `Offset`.
        offset: i64 = "Offset",
    }
}

wire_struct! {
    /// A license finding (`Licenses[]`).
    pub struct License {
        /// `Severity`.
        severity: Severity = "Severity",
        /// `Category`, e.g. `restricted`.
        category: String = "Category",
        /// `PkgName`.
        pkg_name: String = "PkgName",
        /// `FilePath`.
        file_path: String = "FilePath",
        /// `Name`: the license name.
        name: String = "Name",
        /// `Text`.
        text: String = "Text",
        /// `Confidence`.
        confidence: Number = "Confidence",
        /// `Link`.
        link: String = "Link",
    }
}

wire_struct! {
    /// A finding that an ignore file or VEX suppressed (`ExperimentalModifiedFindings[]`).
    pub struct ModifiedFinding {
        /// `Type`: `vulnerability`, `misconfiguration`, `secret` or `license`.
        finding_type: String = "Type",
        /// `Status`, e.g. `ignored`, `not_affected`.
        status: String = "Status",
        /// `Statement`: the reason.
        statement: String = "Statement",
        /// `Source`: the ignore file or VEX document.
        source: String = "Source",
        /// `Finding`: the suppressed finding, kept as JSON.
        finding: Value = "Finding",
    }
}

fn text(field: Option<&String>) -> &str {
    field.map_or("", String::as_str)
}

impl Report {
    /// The results, or none.
    pub fn results(&self) -> &[ScanResult] {
        self.results.as_deref().unwrap_or_default()
    }
}

impl ScanResult {
    /// `Target`, or `""`.
    pub fn target(&self) -> &str {
        text(self.target.as_ref())
    }

    /// The vulnerabilities, or none.
    pub fn vulnerabilities(&self) -> &[Vulnerability] {
        self.vulnerabilities.as_deref().unwrap_or_default()
    }

    /// The misconfigurations, or none.
    pub fn misconfigurations(&self) -> &[Misconfiguration] {
        self.misconfigurations.as_deref().unwrap_or_default()
    }

    /// The secrets, or none.
    pub fn secrets(&self) -> &[Secret] {
        self.secrets.as_deref().unwrap_or_default()
    }

    /// The license findings, or none.
    pub fn licenses(&self) -> &[License] {
        self.licenses.as_deref().unwrap_or_default()
    }
}

impl Vulnerability {
    /// `VulnerabilityID`, or `""`.
    pub fn id(&self) -> &str {
        text(self.vulnerability_id.as_ref())
    }

    /// `PkgName`, or `""`.
    pub fn pkg_name(&self) -> &str {
        text(self.pkg_name.as_ref())
    }

    /// `InstalledVersion`, or `""`.
    pub fn installed_version(&self) -> &str {
        text(self.installed_version.as_ref())
    }

    /// `FixedVersion`, or `""`.
    pub fn fixed_version(&self) -> &str {
        text(self.fixed_version.as_ref())
    }

    /// `PkgPath`, or `""`.
    pub fn pkg_path(&self) -> &str {
        text(self.pkg_path.as_ref())
    }

    /// `Severity`; a missing severity is `Unknown`.
    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or_default()
    }

    /// Whether a fixed version is known (Trivy's own test for "fixable").
    pub fn is_fixable(&self) -> bool {
        !self.fixed_version().is_empty()
    }

    /// The package URL, if Trivy recorded one.
    pub fn purl(&self) -> Option<&str> {
        self.pkg_identifier.as_ref()?.purl.as_deref()
    }
}

impl Misconfiguration {
    /// `ID`, or `""`.
    pub fn id(&self) -> &str {
        text(self.id.as_ref())
    }

    /// `Severity`; a missing severity is `Unknown`.
    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or_default()
    }
}

impl Secret {
    /// `RuleID`, or `""`.
    pub fn rule_id(&self) -> &str {
        text(self.rule_id.as_ref())
    }

    /// `Severity`; a missing severity is `Unknown`.
    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or_default()
    }
}

impl License {
    /// `Name`, or `""`.
    pub fn name(&self) -> &str {
        text(self.name.as_ref())
    }

    /// `Severity`; a missing severity is `Unknown`.
    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or_default()
    }
}
