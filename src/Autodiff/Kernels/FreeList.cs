namespace Scg.Autodiff.Kernels;

/// <summary>An object that a <see cref="FreeList{TItem}"/> links through its own field.</summary>
internal interface IFreeListItem<TItem> where TItem : class
{
    /// <summary>The next free item on this thread's list; null while the item is in use.</summary>
    TItem? NextFree { get; set; }
}

/// <summary>
/// A per-thread stack of reusable objects of one type (the tape's records, the graph's nodes): <see cref="Take"/> pops
/// one or makes one, <see cref="Put"/> pushes one back. Per thread, so neither locks.
/// </summary>
internal static class FreeList<TItem> where TItem : class, IFreeListItem<TItem>, new()
{
    [ThreadStatic] static TItem? t_head;

    /// <summary>The most recently put item of this thread, or a new one.</summary>
    public static TItem Take()
    {
        var item = t_head;
        if (item is null) return new TItem();
        t_head = item.NextFree;
        item.NextFree = null;
        return item;
    }

    /// <summary>Makes <paramref name="item"/> the next one <see cref="Take"/> returns on this thread.</summary>
    public static void Put(TItem item)
    {
        item.NextFree = t_head;
        t_head = item;
    }
}
