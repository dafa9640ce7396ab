import Foundation

// Top-level code in main.swift is main-actor isolated in Swift 6; everything below it is plain
// synchronous code called from here, so nothing else needs an actor.
exit(CommandRouter.main(Array(CommandLine.arguments.dropFirst())))
