/*
 * retain_shapes.cpp: a C++ class hierarchy on the heap, for memstat -k type
 * (tests/debuggers/shared/test_block_types.py). g_shapes, a global Shape **,
 * holds an array of 8 Shape pointers: 3 Circles, 2 Squares and 1
 * ColoredSquare (a Square), each reached through a Shape *, so only their
 * vtables tell their most derived class; plus one Label (no virtual
 * methods) reached through a Label *, one buffer reached only through a
 * void *, and four 16-byte records from one allocation site, two kept as
 * Points and two as Ranges (a site whose blocks have different types).
 * Stops in shapes_checkpoint() for the debugger.
 */
#include <cstdlib>
#include <cstring>

struct Shape {
    virtual ~Shape() {}
    virtual double area() const = 0;
    Shape *next = nullptr;
};

struct Circle : Shape {
    double radius = 1.0;
    double area() const override { return 3.14159 * radius * radius; }
};

struct Square : Shape {
    double side = 2.0;
    double area() const override { return side * side; }
};

struct ColoredSquare : Square {
    unsigned rgb = 0xff0000;
    char name[24] = "red";
};

struct Label {
    int x = 0, y = 0;
    char *text = nullptr;
};

struct Point {
    double x, y;
};

struct Range {
    long lo, hi;
};

Shape **g_shapes;
Point *g_points[2];
Range *g_ranges[2];
Label *g_label;
void *g_buffer;

extern "C" __attribute__((noinline)) void shapes_checkpoint(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void build(void)
{
    g_shapes = new Shape *[8]();
    g_shapes[0] = new Circle;
    g_shapes[1] = new Square;
    g_shapes[2] = new Circle;
    g_shapes[3] = new ColoredSquare;
    g_shapes[4] = new Circle;
    g_shapes[5] = new Square;
    g_label = new Label;
    g_label->text = strdup("a label");
    g_buffer = malloc(64);
    memset(g_buffer, 0, 64);
}

__attribute__((noinline)) static void *make_record(void)
{
    return calloc(1, 16);
}

__attribute__((noinline)) static void build_records(void)
{
    for (int i = 0; i < 4; i++) {
        void *record = make_record();
        if (i % 2)
            g_points[i / 2] = static_cast<Point *>(record);
        else
            g_ranges[i / 2] = static_cast<Range *>(record);
    }
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char dead[8192];
    memset((char *)dead, 0, sizeof dead);
}

int main()
{
    build();
    build_records();
    scrub_stack();
    shapes_checkpoint();
    return 0;
}
