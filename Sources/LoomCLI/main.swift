import Foundation

// Top-level code in main.swift is main-actor isolated in Swift 6; everything below it is plain
// synchronous code called from here, so nothing else needs an actor.
// A write past a file-size limit (`ulimit -f`) then fails with EFBIG, which the store reports
// with what to do, instead of killing the process mid-transaction.
signal(SIGXFSZ, SIG_IGN)
exit(CommandRouter.main(Array(CommandLine.arguments.dropFirst())))
