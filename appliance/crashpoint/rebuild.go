package crashpoint

// RebuildOldDetached is hit in a rebuild once the old boot volume is detached and the record names it
// only as the one being replaced; it is not deleted yet and no new boot volume exists.
const RebuildOldDetached = "compute.rebuild-old-detached"
