/// Loom's elementwise and row-wise SIMD kernels.
///
/// Each kernel comes twice: an `@inlinable` raw-pointer form for hot paths, which never
/// allocates and leaves shape checks to its caller, and a `Tensor` form that checks shapes and
/// allocates its result. Loops run over `SIMD16<Float>` with explicit vector accumulators; the
/// last `count % 16` elements go through one partial vector filled and drained lane by lane, so
/// the tail rounds exactly like the body. Vector accumulators reorder sums, so results differ from
/// a sequential loop by rounding: compare them with a tolerance, never with `==`.
public enum Kernels {}

extension Kernels {
    /// Loads 16 floats from `pointer`, which needs no particular alignment.
    @inlinable @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Stores 16 floats at `pointer`, which needs no particular alignment (SE-0349).
    @inlinable @inline(__always)
    static func store(_ vector: SIMD16<Float>, to pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: vector, as: SIMD16<Float>.self)
    }

    /// Loads the first `count` (< 16) floats at `pointer` and fills the other lanes with `padding`,
    /// chosen by each kernel so that padded lanes cannot disturb its sums or maxima.
    @inlinable @inline(__always)
    static func loadPartial(_ pointer: UnsafePointer<Float>, count: Int, padding: Float) -> SIMD16<Float> {
        var vector = SIMD16<Float>(repeating: padding)
        for lane in 0..<count { vector[lane] = pointer[lane] }
        return vector
    }

    /// Stores the first `count` (< 16) lanes of `vector` at `pointer`.
    @inlinable @inline(__always)
    static func storePartial(_ vector: SIMD16<Float>, to pointer: UnsafeMutablePointer<Float>, count: Int) {
        for lane in 0..<count { pointer[lane] = vector[lane] }
    }

    /// The rows and columns of a tensor seen as a matrix whose rows run along its last axis.
    /// A scalar is one row of one column.
    static func rowsAndColumns(of shape: [Int]) -> (rows: Int, columns: Int) {
        guard let columns = shape.last else { return (1, 1) }
        return (shape.dropLast().reduce(1, *), columns)
    }
}
