internal import CYAML

/// Facts about the YAML library that reads experiment files, for `loom version` and run provenance.
public enum ExperimentFileInfo {
    /// The libyaml version linked at run time (from `yaml_get_version_string`), e.g. `0.2.5`.
    public static var yamlVersion: String {
        guard let text = yaml_get_version_string() else { return "unknown" }
        return String(cString: text)
    }
}
