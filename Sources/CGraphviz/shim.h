#pragma once
#include <graphviz/gvc.h>
#include <ctype.h>
#include <stddef.h>

// Whether an HTML-like label (`<…>`) holds an IMG element, which reads a file.
static inline int loom_html_image(char *value) {
    if (value == NULL || !aghtmlstr(value)) return 0;
    for (const char *p = value; *p; p++) {
        if (p[0] == '<' && tolower((unsigned char)p[1]) == 'i' && tolower((unsigned char)p[2]) == 'm'
            && tolower((unsigned char)p[3]) == 'g') return 1;
    }
    return 0;
}

static inline int loom_graph_images(Agraph_t *g, Agsym_t *sym) {
    if (loom_html_image(agxget(g, sym))) return 1;
    for (Agraph_t *sub = agfstsubg(g); sub; sub = agnxtsubg(sub)) {
        if (loom_graph_images(sub, sym)) return 1;
    }
    return 0;
}

// The attribute through which a parsed graph would read a file, or NULL: a node's image or shape
// file, the folders searched for images and fonts, or an IMG in an HTML-like label. Loom's own
// graphs use none of them; refusing them keeps DOT from copying a file into what it renders.
static inline const char *loom_dot_file_reference(Agraph_t *g) {
    static char *files[] = {"image", "shapefile", "imagepath", "fontpath"};
    static char *labels[] = {"label", "xlabel", "headlabel", "taillabel"};
    const int kinds[] = {AGRAPH, AGNODE, AGEDGE};
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            if (agattr(g, kinds[k], files[i], NULL) != NULL) return files[i];
        }
    }
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        Agsym_t *sym = agattr(g, AGRAPH, labels[i], NULL);
        if (sym && loom_graph_images(g, sym)) return labels[i];
        Agsym_t *node = agattr(g, AGNODE, labels[i], NULL), *edge = agattr(g, AGEDGE, labels[i], NULL);
        if (!node && !edge) continue;
        for (Agnode_t *n = agfstnode(g); n; n = agnxtnode(g, n)) {
            if (node && loom_html_image(agxget(n, node))) return labels[i];
            if (!edge) continue;
            for (Agedge_t *e = agfstout(g, n); e; e = agnxtout(g, e)) {
                if (loom_html_image(agxget(e, edge))) return labels[i];
            }
        }
    }
    return NULL;
}
