#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The directory of private key files, `<kid>.der`, each readable by the owner only.
struct KeyFileDirectory: Sendable {
    /// The largest key file read back (PKCS#8 DER of an Ed25519 or P-256 key is far smaller).
    static let maxKeyFileSize = StoredSigningKey.maxPrivateKeyBytes

    /// The directory's path.
    let path: String

    /// Uses the directory at `path`, creating it (and missing parents) with mode 0700, or
    /// tightening it to 0700.
    /// - Throws: `unavailable` when it cannot be created or is not a directory.
    init(path: String) throws(TokenStoreError) {
        self.path = path
        tightenedMode = try Self.createDirectory(path)
    }

    /// The mode the directory had when `init` tightened it; nil when it needed no change.
    let tightenedMode: mode_t?

    /// True when `keyID` may name a file: 1 to 64 of `A-Z a-z 0-9 _ -`.
    static func isValidKeyID(_ keyID: String) -> Bool {
        let bytes = keyID.utf8
        return (1...64).contains(bytes.count)
            && bytes.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
    }

    /// Creates `path` and missing parents with mode 0700, or takes group's and others' permissions
    /// away from an existing directory.
    /// - Returns: the mode the directory had when it was tightened; nil when it needed no change.
    /// - Throws: `unavailable` when that fails or `path` is not a directory.
    @discardableResult
    static func createDirectory(_ path: String) throws(TokenStoreError) -> mode_t? {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unavailable("cannot create the directory \(path): \(error)")
        }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw .unavailable("\(path) is not a directory")
        }
        return try tighten(path, mode: info.st_mode, to: 0o700)
    }

    /// Takes group's and others' permissions away from the regular file at `path`, or creates it
    /// empty with mode 0600 when `create` is set and it does not exist.
    /// - Returns: the mode the file had when it was tightened; nil when it needed no change.
    /// - Throws: `unavailable` when that fails or `path` is not a regular file.
    @discardableResult
    static func makeOwnerOnly(file path: String, create: Bool) throws(TokenStoreError) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = errno
            guard code == ENOENT else { throw .unavailable("cannot stat \(path): \(String(cString: strerror(code)))") }
            guard create else { return nil }
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard descriptor >= 0 else {
                throw .unavailable("cannot create \(path): \(String(cString: strerror(errno)))")
            }
            close(descriptor)
            return nil
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .unavailable("\(path) is not a regular file") }
        return try tighten(path, mode: info.st_mode, to: 0o600)
    }

    /// Sets `path`'s permission bits to `owner` (0700 or 0600) when group or others have any.
    private static func tighten(_ path: String, mode: mode_t, to owner: mode_t) throws(TokenStoreError) -> mode_t? {
        guard mode & 0o077 != 0 else { return nil }
        guard chmod(path, owner) == 0 else {
            throw .unavailable(
                "cannot make \(path) readable by its owner only: \(String(cString: strerror(errno)))")
        }
        return mode & 0o7777
    }

    /// Writes the key file of `keyID` atomically: a new file created exclusively with mode 0600,
    /// fsynced, renamed over the old one, and the directory fsynced.
    /// - Throws: `unavailable` on any I/O error (the old file, if any, is then left as it was).
    func writeKey(_ keyID: String, bytes: [UInt8]) throws(TokenStoreError) {
        let temporary = "\(path)/.\(keyID).der.tmp"
        let final = fileName(keyID)
        unlink(temporary)  // A leftover of an interrupted write.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw failure("create a key file", errno) }
        var written = false
        defer {
            if !written {
                unlink(temporary)
            }
        }
        do throws(TokenStoreError) {
            guard fchmod(descriptor, 0o600) == 0 else { throw failure("set a key file's mode", errno) }
            try writeAll(bytes, to: descriptor)
            guard fsync(descriptor) == 0 else { throw failure("fsync a key file", errno) }
        } catch {
            close(descriptor)
            throw error
        }
        close(descriptor)
        guard rename(temporary, final) == 0 else { throw failure("rename a key file", errno) }
        written = true
        try syncDirectory()
    }

    /// Reads the key file of `keyID`.
    /// - Returns: nil when there is no such file.
    /// - Throws: `corrupt` when the file is readable by group or others, not a regular file or too
    ///   large; `unavailable` on an I/O error.
    func readKey(_ keyID: String) throws(TokenStoreError) -> [UInt8]? {
        let descriptor = open(fileName(keyID), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT {
                return nil
            }
            if code == ELOOP {
                throw .corrupt("the key file of \(keyID) is a symbolic link")
            }
            throw failure("open a key file", code)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure("stat a key file", errno) }
        guard info.st_mode & 0o170000 == 0o100000 else {
            throw .corrupt("the key file of \(keyID) is not a regular file")
        }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw .corrupt(
                "the key file of \(keyID) has mode 0\(String(permissions, radix: 8)): group or others may read it;"
                    + " it must be 0600 (chmod 600 it after checking that the key was not exposed)")
        }
        guard let size = Int(exactly: info.st_size), size <= Self.maxKeyFileSize else {
            throw .corrupt("the key file of \(keyID) is larger than \(Self.maxKeyFileSize) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + filled }, size - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read a key file", errno)
            }
            guard count > 0 else { break }
            filled += count
        }
        guard filled == size else { throw .corrupt("the key file of \(keyID) changed while being read") }
        return bytes
    }

    /// Deletes every file but the key files of `keyIDs` (stale keys, leftover temporary files).
    /// - Throws: `unavailable` when the directory cannot be listed or a file cannot be deleted.
    func removeFiles(keeping keyIDs: Set<String>) throws(TokenStoreError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw .unavailable("cannot list the key directory: \(error)")
        }
        let keep = Set(keyIDs.map { "\($0).der" })
        var removed = false
        for name in names where !keep.contains(name) {
            guard unlink("\(path)/\(name)") == 0 || errno == ENOENT else {
                throw failure("delete a stale key file", errno)
            }
            removed = true
        }
        if removed {
            try syncDirectory()
        }
    }

    private func fileName(_ keyID: String) -> String {
        "\(path)/\(keyID).der"
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws(TokenStoreError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write a key file", errno)
            }
            offset += count
        }
    }

    private func syncDirectory() throws(TokenStoreError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open the key directory", errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync the key directory", errno) }
    }

    private func failure(_ action: String, _ code: Int32) -> TokenStoreError {
        .unavailable("cannot \(action): \(String(cString: strerror(code)))")
    }
}
