internal import CZeroMQ

/// Facts about the ZeroMQ library Wire is linked against, for `loom version` and run provenance.
public enum WireInfo {
    /// The libzmq version linked at run time (from `zmq_version`), e.g. `4.3.4`.
    ///
    /// This is the loaded library's answer, not the header's `ZMQ_VERSION`, so a machine whose
    /// shared library differs from the build's headers shows what actually runs.
    public static var zeroMQVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
