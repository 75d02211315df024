//! The report model of SchemaVersion 2: report, metadata, results and their findings.
//!
//! Every struct keeps the fields it does not name in `extra`, so parsing and serialising a
//! report gives the same JSON back. Named fields are `Option`s: absent stays absent.
//! Strings are [`Text`] (small strings inline, long ones shared with the parsed document when
//! it was handed over), string arrays [`TextList`] (one buffer per array, or the document's)
//! and rarely present JSON blobs `Box<Value>`, which keeps a large report's model small.

use serde_json::{Number, Value};

use crate::kinds::{ArtifactType, MisconfStatus, ResultClass, Severity, Status};
use crate::text::Text;
use crate::text_list::TextList;
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
        report_id: Text = "ReportID",
        /// `CreatedAt`.
        created_at: Timestamp = "CreatedAt",
        /// `ArtifactID`.
        artifact_id: Text = "ArtifactID",
        /// `ArtifactName`: the image reference, path or repository URL that was scanned.
        artifact_name: Text = "ArtifactName",
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
        version: Text = "Version",
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
        image_id: Text = "ImageID",
        /// `DiffIDs`.
        diff_ids: TextList = "DiffIDs",
        /// `RepoTags`.
        repo_tags: TextList = "RepoTags",
        /// `RepoDigests`.
        repo_digests: TextList = "RepoDigests",
        /// `Reference`.
        reference: Text = "Reference",
        /// `ImageConfig`: the OCI image configuration, kept as JSON.
        image_config: Box<Value> = "ImageConfig",
        /// `Layers`.
        layers: Vec<LayerMetadata> = "Layers",
        /// `RepoURL` (repository scans).
        repo_url: Text = "RepoURL",
        /// `Branch` (repository scans).
        branch: Text = "Branch",
        /// `Tags` (repository scans).
        tags: TextList = "Tags",
        /// `Commit` (repository scans).
        commit: Text = "Commit",
        /// `CommitMsg` (repository scans).
        commit_msg: Text = "CommitMsg",
        /// `Author` (repository scans).
        author: Text = "Author",
        /// `Committer` (repository scans).
        committer: Text = "Committer",
    }
}

wire_struct! {
    /// `OS`: the detected operating system.
    pub struct Os {
        /// `Family`, e.g. `alpine`, `debian`.
        family: Text = "Family",
        /// `Name`: the version, e.g. `3.9.4`.
        name: Text = "Name",
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
        digest: Text = "Digest",
        /// `DiffID`.
        diff_id: Text = "DiffID",
    }
}

wire_struct! {
    /// A layer reference on a finding (`Layer`).
    pub struct Layer {
        /// `Digest`.
        digest: Text = "Digest",
        /// `DiffID`.
        diff_id: Text = "DiffID",
        /// `CreatedBy`.
        created_by: Text = "CreatedBy",
    }
}

wire_struct! {
    /// One scanned target (`Results[]`): a package database, lock file, config file, ...
    pub struct ScanResult {
        /// `Target`.
        target: Text = "Target",
        /// `Class`.
        class: ResultClass = "Class",
        /// `Type`: an open set (`alpine`, `npm`, `dockerfile`, ...).
        target_type: Text = "Type",
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
        id: Text = "ID",
        /// `Name`.
        name: Text = "Name",
        /// `Identifier`.
        identifier: PkgIdentifier = "Identifier",
        /// `Version`.
        version: Text = "Version",
        /// `Release`.
        release: Text = "Release",
        /// `Epoch`.
        epoch: i64 = "Epoch",
        /// `Arch`.
        arch: Text = "Arch",
        /// `Dev`: a development dependency.
        dev: bool = "Dev",
        /// `SrcName`.
        src_name: Text = "SrcName",
        /// `SrcVersion`.
        src_version: Text = "SrcVersion",
        /// `SrcRelease`.
        src_release: Text = "SrcRelease",
        /// `SrcEpoch`.
        src_epoch: i64 = "SrcEpoch",
        /// `Licenses`.
        licenses: TextList = "Licenses",
        /// `Maintainer`.
        maintainer: Text = "Maintainer",
        /// `Modularitylabel` (Red Hat).
        modularity_label: Text = "Modularitylabel",
        /// `BuildInfo` (Red Hat), kept as JSON.
        build_info: Box<Value> = "BuildInfo",
        /// `Indirect` (deprecated by `Relationship`).
        indirect: bool = "Indirect",
        /// `Relationship`: `root`, `direct`, `indirect`, ...
        relationship: Text = "Relationship",
        /// `DependsOn`.
        depends_on: TextList = "DependsOn",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `FilePath`.
        file_path: Text = "FilePath",
        /// `Digest`.
        digest: Text = "Digest",
        /// `Locations`: lines of the lock file.
        locations: Vec<Location> = "Locations",
        /// `InstalledFiles`.
        installed_files: TextList = "InstalledFiles",
        /// `AnalyzedBy`: the analyzer that found the package.
        analyzed_by: Text = "AnalyzedBy",
    }
}

wire_struct! {
    /// `PkgIdentifier` / `Identifier`: package URL and Trivy's unique id.
    pub struct PkgIdentifier {
        /// `PURL`.
        purl: Text = "PURL",
        /// `UID`.
        uid: Text = "UID",
        /// `BOMRef`.
        bom_ref: Text = "BOMRef",
    }
}

wire_struct! {
    /// A detected vulnerability (`Vulnerabilities[]`).
    pub struct Vulnerability {
        /// `VulnerabilityID`, e.g. `CVE-2019-14697`.
        vulnerability_id: Text = "VulnerabilityID",
        /// `VendorIDs`, e.g. advisory ids of the distribution.
        vendor_ids: TextList = "VendorIDs",
        /// `PkgID`.
        pkg_id: Text = "PkgID",
        /// `PkgName`.
        pkg_name: Text = "PkgName",
        /// `PkgPath`: the file the package was found in (language packages).
        pkg_path: Text = "PkgPath",
        /// `PkgIdentifier`.
        pkg_identifier: PkgIdentifier = "PkgIdentifier",
        /// `InstalledVersion`.
        installed_version: Text = "InstalledVersion",
        /// `FixedVersion`: empty, one version or a comma-separated list.
        fixed_version: Text = "FixedVersion",
        /// `Status`.
        status: Status = "Status",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `SeveritySource`: the vendor whose rating `Severity` is.
        severity_source: Text = "SeveritySource",
        /// `PrimaryURL`.
        primary_url: Text = "PrimaryURL",
        /// `DataSource`.
        data_source: DataSource = "DataSource",
        /// `Custom`, kept as JSON.
        custom: Box<Value> = "Custom",
        /// `Fingerprint`.
        fingerprint: Text = "Fingerprint",
        /// `Title`.
        title: Text = "Title",
        /// `Description`.
        description: Text = "Description",
        /// `Severity`. Unknown labels read as `UNKNOWN`.
        severity: Severity = "Severity",
        /// `CweIDs`.
        cwe_ids: TextList = "CweIDs",
        /// `VendorSeverity`: source -> level 0 (unknown) to 4 (critical).
        vendor_severity: OrderedMap<u8> = "VendorSeverity",
        /// `CVSS`: source -> vectors and scores.
        cvss: OrderedMap<Cvss> = "CVSS",
        /// `References`.
        references: TextList = "References",
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
        id: Text = "ID",
        /// `Name`.
        name: Text = "Name",
        /// `URL`.
        url: Text = "URL",
    }
}

wire_struct! {
    /// One source's CVSS data. Scores keep their JSON number form (`5` stays `5`).
    pub struct Cvss {
        /// `V2Vector`.
        v2_vector: Text = "V2Vector",
        /// `V3Vector`.
        v3_vector: Text = "V3Vector",
        /// `V40Vector`.
        v40_vector: Text = "V40Vector",
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
        check_type: Text = "Type",
        /// `ID`, e.g. `DS002`.
        id: Text = "ID",
        /// `AVDID`, e.g. `AVD-DS-0002`.
        avd_id: Text = "AVDID",
        /// `Title`.
        title: Text = "Title",
        /// `Description`.
        description: Text = "Description",
        /// `Message`.
        message: Text = "Message",
        /// `Namespace`.
        namespace: Text = "Namespace",
        /// `Query`.
        query: Text = "Query",
        /// `Resolution`.
        resolution: Text = "Resolution",
        /// `Severity`.
        severity: Severity = "Severity",
        /// `PrimaryURL`.
        primary_url: Text = "PrimaryURL",
        /// `References`.
        references: TextList = "References",
        /// `Status`.
        status: MisconfStatus = "Status",
        /// `Layer`.
        layer: Layer = "Layer",
        /// `CauseMetadata`.
        cause_metadata: CauseMetadata = "CauseMetadata",
        /// `Traces`.
        traces: TextList = "Traces",
    }
}

wire_struct! {
    /// `CauseMetadata`: where a misconfiguration is.
    pub struct CauseMetadata {
        /// `Resource`.
        resource: Text = "Resource",
        /// `Provider`.
        provider: Text = "Provider",
        /// `Service`.
        service: Text = "Service",
        /// `StartLine`.
        start_line: i64 = "StartLine",
        /// `EndLine`.
        end_line: i64 = "EndLine",
        /// `Code`.
        code: Code = "Code",
        /// `Occurrences`, kept as JSON.
        occurrences: Vec<Value> = "Occurrences",
        /// `RenderedCause`, kept as JSON.
        rendered_cause: Box<Value> = "RenderedCause",
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
        content: Text = "Content",
        /// `IsCause`.
        is_cause: bool = "IsCause",
        /// `Annotation`.
        annotation: Text = "Annotation",
        /// `Truncated`.
        truncated: bool = "Truncated",
        /// `Highlighted`: the content with terminal colours.
        highlighted: Text = "Highlighted",
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
        rule_id: Text = "RuleID",
        /// `Category`.
        category: Text = "Category",
        /// `Severity`.
        severity: Severity = "Severity",
        /// `Title`.
        title: Text = "Title",
        /// `StartLine`.
        start_line: i64 = "StartLine",
        /// `EndLine`.
        end_line: i64 = "EndLine",
        /// `Code`: the lines around the secret.
        code: Code = "Code",
        /// `Match`: the matched line with the secret masked.
        matched: Text = "Match",
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
        category: Text = "Category",
        /// `PkgName`.
        pkg_name: Text = "PkgName",
        /// `FilePath`.
        file_path: Text = "FilePath",
        /// `Name`: the license name.
        name: Text = "Name",
        /// `Text`.
        text: Text = "Text",
        /// `Confidence`.
        confidence: Number = "Confidence",
        /// `Link`.
        link: Text = "Link",
    }
}

wire_struct! {
    /// A finding that an ignore file or VEX suppressed (`ExperimentalModifiedFindings[]`).
    pub struct ModifiedFinding {
        /// `Type`: `vulnerability`, `misconfiguration`, `secret` or `license`.
        finding_type: Text = "Type",
        /// `Status`, e.g. `ignored`, `not_affected`.
        status: Text = "Status",
        /// `Statement`: the reason.
        statement: Text = "Statement",
        /// `Source`: the ignore file or VEX document.
        source: Text = "Source",
        /// `Finding`: the suppressed finding, kept as JSON.
        finding: Box<Value> = "Finding",
    }
}

fn text(field: Option<&Text>) -> &str {
    field.map_or("", Text::as_str)
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
