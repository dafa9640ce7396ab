import Foundation

/// The address this host uses to reach another: what a worker advertises to its gang peers when
/// the coordinator is remote, so peers get an address on the network they share rather than a
/// host name that may resolve elsewhere (or to loopback).
public enum RouteSource {
    /// The local address of the route toward `host` (a name or a literal), as text; an IPv6
    /// address comes in brackets, ready for a `tcp://` endpoint. Nil when there is no route.
    /// Connecting a UDP socket only chooses the route: no packet is sent.
    public static func address(toward host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(name, "9", &hints, &found) == 0, let first = found else { return nil }
        defer { freeaddrinfo(found) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            defer { entry = current.pointee.ai_next }
            let descriptor = socket(current.pointee.ai_family, current.pointee.ai_socktype, 0)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard connect(descriptor, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 else { continue }
            var local = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            guard named == 0 else { continue }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let converted = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
                }
            }
            guard converted == 0 else { continue }
            let address = String(cString: text)
            return address.contains(":") ? "[\(address)]" : address
        }
        return nil
    }
}

extension RouteSource {
    /// This host's first IPv4 address that is up and not loopback (the address other hosts most
    /// likely reach it at), or nil when it has none.
    public static func firstNonLoopbackAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var entry: UnsafeMutablePointer<ifaddrs>? = first
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            let flags = Int32(current.pointee.ifa_flags)
            guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0 else { continue }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            return String(cString: text)
        }
        return nil
    }
}
