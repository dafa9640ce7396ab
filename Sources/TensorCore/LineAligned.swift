extension UnsafeMutablePointer where Pointee == Float {
    /// `count` floats (at least one) starting on a 64-byte cache line, uninitialised; free with
    /// `deallocate()`. malloc's 16-byte alignment would let two threads that write neighbouring
    /// 16-float blocks (column pieces of a buffer) share a line at every row.
    public static func allocateLines(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(1, count))
    }
}
